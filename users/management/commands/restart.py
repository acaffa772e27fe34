from users import pipeline, services
from users.management.commands._base import UserCommand
from users.serializers import RunRestartOutputSerializer


class Command(UserCommand):
    help = "Clear derived data and run again, like POST /users/<u>/restart[?from=<step>]."

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--from", dest="from_step", choices=pipeline.steps_all())

    def handle(self, *args, **options):
        run = services.user_restart(login=options["username"], from_step=options["from_step"])
        self.emit(RunRestartOutputSerializer(run).data)
