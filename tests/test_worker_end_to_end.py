"""A real Celery worker subprocess takes a task from the `high` queue and writes the DB."""

import pytest

from workers import queues
from workers.models import DiagnosticsSnapshot
from workers.testing import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def test_worker_runs_a_high_queue_task_and_the_row_is_visible(celery_worker):
    from workers.tasks import diagnostics_record

    result = diagnostics_record.apply_async(queue=queues.HIGH)

    snapshot = wait_until(
        lambda: DiagnosticsSnapshot.objects.first(),
        timeout=30,
        message="the worker did not record a diagnostics snapshot",
    )
    assert snapshot.workers_total >= 1  # the worker saw itself answer the broadcast
    assert snapshot.deadline_seconds == 6 * 3600
    assert set(snapshot.repos_by_status) >= {"pending", "completed", "restricted"}
    log = celery_worker.log_path.read_text()
    assert result.id in log
    assert "workers.diagnostics_record" in log
