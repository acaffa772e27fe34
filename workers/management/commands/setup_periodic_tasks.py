from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from workers.schedule import PERIODIC_TASKS


class Command(BaseCommand):
    help = "Seed the periodic tasks (get_or_create by name: admin edits survive)."

    def handle(self, *args, **options):
        for periodic in PERIODIC_TASKS:
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=periodic.every_seconds, period=IntervalSchedule.SECONDS
            )
            _, created = PeriodicTask.objects.get_or_create(
                name=periodic.name,
                defaults={
                    "task": periodic.task,
                    "interval": interval,
                    "queue": periodic.queue,
                    "expire_seconds": max(periodic.every_seconds - 1, 1),
                    "description": periodic.description,
                },
            )
            verb = "created" if created else "kept"
            self.stdout.write(f"{verb}: {periodic.name} ({periodic.task})")
