import json

from django.core.management.base import BaseCommand

from stargazers.selectors import admin_stats, crawls


class Command(BaseCommand):
    help = "Show the star graph's state: repos by status, queues, workers, pause."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON document")
        parser.add_argument("--status", help="also list up to 20 repos with this status")

    def handle(self, *args, **options):
        processing = admin_stats.processing_stats()
        database = admin_stats.database_stats()
        listed = (
            crawls.crawls_list(status=options["status"], limit=20, offset=0)
            if options.get("status")
            else []
        )
        if options["json"]:
            doc = {"processing": processing, "database": database, "repos": listed}
            self.stdout.write(json.dumps(doc, default=str, indent=2))
            return
        self.stdout.write(f"paused: {processing['paused']}")
        self.stdout.write(
            f"workers: {processing['current_worker_count']} "
            f"(active {processing['active_workers']}); "
            f"queues: {processing['queue_depths']}"
        )
        for key, value in database.items():
            self.stdout.write(f"{key}: {value}")
        for row in listed:
            self.stdout.write(
                f"  {row['repo']} {row['status']} stored={row['processed_stargazers']} "
                f"error={row['last_error'] or '-'}"
            )
