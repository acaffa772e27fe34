"""Celery tasks of the shared infrastructure (each imports its service in its body, as
every task does)."""

from celery import shared_task

from workers.schedule import periodic


@periodic(
    name="diagnostics: hourly snapshot",
    every=3600,
    description="Hourly diagnostics, logged and stored.",
)
@shared_task(name="workers.diagnostics_record", soft_time_limit=60, time_limit=90, max_retries=0)
def diagnostics_record() -> int:
    """Hourly diagnostics (beat). Returns the snapshot id."""
    from workers.diagnostics import diagnostics_record as record

    return record().pk
