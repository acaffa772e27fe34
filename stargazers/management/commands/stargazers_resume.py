from django.core.management.base import BaseCommand

from stargazers import services


class Command(BaseCommand):
    help = "Resume star-graph work and enqueue due repos at once."

    def handle(self, *args, **options):
        enqueued = services.stargazers_resume()
        self.stdout.write(f"resumed; {enqueued} repo(s) enqueued")
