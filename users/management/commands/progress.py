from users import selectors
from users.management.commands._base import UserCommand
from users.serializers import UserProgressOutputSerializer


class Command(UserCommand):
    help = "Show a user's pipeline progress, like GET /users/<u>/progress."

    def handle(self, *args, **options):
        user = selectors.user_get(login=options["username"])
        self.emit(UserProgressOutputSerializer(selectors.user_progress(user=user)).data)
