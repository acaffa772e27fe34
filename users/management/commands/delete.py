from users import services
from users.management.commands._base import UserCommand
from users.serializers import UserDeleteOutputSerializer


class Command(UserCommand):
    help = "Delete a user and everything only it owns, like DELETE /users/<u>."

    def handle(self, *args, **options):
        self.emit(UserDeleteOutputSerializer(services.user_delete(login=options["username"])).data)
