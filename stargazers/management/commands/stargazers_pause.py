from django.core.management.base import BaseCommand

from stargazers import services


class Command(BaseCommand):
    help = "Pause star-graph work (persisted; running tasks stop after their current page)."

    def add_arguments(self, parser):
        parser.add_argument("--reason", default="", help="shown in status and admin")

    def handle(self, *args, **options):
        created = services.stargazers_pause(reason=options["reason"])
        self.stdout.write("paused" if created else "already paused")
