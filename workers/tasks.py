"""Celery tasks of the shared infrastructure (each imports its service in its body, as
every task does)."""

from celery import shared_task


@shared_task(name="workers.diagnostics_record", soft_time_limit=60, time_limit=90, max_retries=0)
def diagnostics_record() -> int:
    """Hourly diagnostics (beat). Returns the snapshot id."""
    from workers.diagnostics import diagnostics_record as record

    return record().pk
