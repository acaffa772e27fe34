from users import services
from users.management.commands._base import UserCommand
from users.serializers import UserLoginOutputSerializer


class Command(UserCommand):
    help = "Sign a user in (new / ghost → activated / existing), like POST /users/<u>/login."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--github-token", default=None, help="the account's own token")

    def handle(self, *args, **options):
        result = services.user_login(
            login=options["username"], github_token=options["github_token"]
        )
        self.emit(UserLoginOutputSerializer(result).data)
