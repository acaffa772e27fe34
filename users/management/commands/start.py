from users import services
from users.management.commands._base import UserCommand
from users.serializers import RunOutputSerializer


class Command(UserCommand):
    help = "Start a user's pipeline in the workers, like POST /users/<u>/start."

    def handle(self, *args, **options):
        run = services.user_start(login=options["username"])
        self.emit(RunOutputSerializer(run).data)
