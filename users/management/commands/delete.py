from users import services
from users.management.commands._base import UserCommand


class Command(UserCommand):
    help = "Delete a user and everything only it owns, like DELETE /users/<u>."

    def handle(self, *args, **options):
        self.emit(services.user_delete(login=options["username"]))
