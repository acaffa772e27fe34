from django.core.management.base import BaseCommand, CommandError

from config.errors import GazerError
from stargazers import services
from stargazers.models import StargazerCrawl


class Command(BaseCommand):
    help = "Reset star-graph rows to pending and enqueue them (one repo, a user's, or a status)."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--repo", help="owner/name or GitHub id")
        target.add_argument("--user", help="login: every repo the user starred")
        target.add_argument(
            "--status",
            choices=[s for s in StargazerCrawl.Status.values if s != "pending"],
            help="every repo with this status",
        )
        parser.add_argument("--force", action="store_true", help="start from the first page")

    def handle(self, *args, **options):
        force = options["force"]
        try:
            if options["repo"]:
                crawl = services.crawl_reprocess(key=options["repo"], force=force)
                self.stdout.write(f"queued: {crawl.repo.full_name}")
            elif options["user"]:
                count = services.user_crawls_reprocess(login=options["user"], force=force)
                self.stdout.write(f"queued {count} repo(s) starred by {options['user']}")
            else:
                count = services.crawls_reprocess_by_status(status=options["status"], force=force)
                self.stdout.write(f"queued {count} repo(s) that were {options['status']}")
        except GazerError as exc:
            raise CommandError(exc.message) from exc
