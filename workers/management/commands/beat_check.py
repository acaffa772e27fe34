"""Healthcheck of the beat process: the schedule has been ticking lately.

django-celery-beat's DatabaseScheduler writes each task's `last_run_at` back at least
every three minutes, and several tasks run every minute; so while beat runs, the
newest `last_run_at` is never much older than that. Exit 0 when it is recent, 1 if not.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone
from django_celery_beat.models import PeriodicTask


class Command(BaseCommand):
    help = "Exit 0 while beat is sending the periodic tasks (for container healthchecks)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--max-age", type=int, default=360, help="seconds (360)")

    def handle(self, *args, **options):
        newest = (
            PeriodicTask.objects.filter(enabled=True, last_run_at__isnull=False)
            .order_by("-last_run_at")
            .values_list("last_run_at", flat=True)
            .first()
        )
        limit = timezone.now() - timedelta(seconds=options["max_age"])
        if newest is None or newest < limit:
            self.stderr.write(f"beat: no periodic task sent since {newest or 'ever'}")
            raise SystemExit(1)
        self.stdout.write(f"beat: last periodic task sent at {newest:%Y-%m-%d %H:%M:%S}")
