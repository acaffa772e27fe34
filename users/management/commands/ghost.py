from users import services
from users.management.commands._base import UserCommand
from users.serializers import GhostUserCreateOutputSerializer


class Command(UserCommand):
    help = "Create a ghost (inactive) user and fetch it once, like POST /ghost-users/<u>."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--force", action="store_true", help="also for an existing user")

    def handle(self, *args, **options):
        result = services.ghost_create(login=options["username"], force=options["force"])
        self.emit(GhostUserCreateOutputSerializer(result).data)
