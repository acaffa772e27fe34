from users import services
from users.management.commands._base import UserCommand


class Command(UserCommand):
    help = "Start a user's pipeline in the workers, like POST /users/<u>/start."

    def handle(self, *args, **options):
        run = services.user_start(login=options["username"])
        self.emit({"ok": True, "queued": True, "run_id": run.id, "status": run.status})
