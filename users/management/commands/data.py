from users import selectors
from users.management.commands._base import UserCommand
from users.serializers import UserDataOutputSerializer


class Command(UserCommand):
    help = "Show a user's profile data, like GET /users/<u>/data."

    def handle(self, *args, **options):
        user = selectors.user_get(login=options["username"])
        self.emit(UserDataOutputSerializer(selectors.user_data(user=user)).data)
