from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from workers.schedule import Periodic, periodic_tasks


class Command(BaseCommand):
    help = (
        "Seed the periodic tasks declared beside their tasks "
        "(get_or_create by name: admin edits survive)."
    )

    def handle(self, *args, **options):
        for periodic in periodic_tasks():
            created = self.seed(periodic)
            verb = "created" if created else "kept"
            self.stdout.write(f"{verb}: {periodic.name} ({periodic.task})")

    def seed(self, periodic: Periodic) -> bool:
        """Create the beat row unless one of that name exists; True when created."""
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=periodic.every_seconds, period=IntervalSchedule.SECONDS
        )
        _, created = PeriodicTask.objects.get_or_create(
            name=periodic.name,
            defaults={
                "task": periodic.task,
                "interval": interval,
                "queue": periodic.queue,
                "expire_seconds": periodic.expires_seconds,
                "description": periodic.description,
            },
        )
        return created
