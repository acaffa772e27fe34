"""Every registered Celery task follows the one policy: an explicit name, soft and hard
time limits, a bounded retry count (workers.retry)."""

from __future__ import annotations

import io

from config.celery import app
from workers import retry


def _project_tasks():
    app.loader.import_default_modules()  # what a worker does at start: every tasks.py
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_every_task_is_named_limited_and_bounded():
    tasks = _project_tasks()
    assert {"users.work_item_run", "stargazers.stargazer_crawl"} <= set(tasks)
    for name, task in tasks.items():
        module = task.__module__.split(".")[0]
        assert name.startswith(f"{module}."), f"{name}: named <app>.<verb_noun>"
        assert task.soft_time_limit, f"{name}: no soft_time_limit"
        assert task.time_limit and task.time_limit > task.soft_time_limit, name
        assert task.max_retries is not None, f"{name}: unbounded retries"
        assert task.max_retries <= retry.MAX_RETRIES, f"{name}: more than the policy's cap"
        backoff_max = getattr(task, "retry_backoff_max", None)
        if getattr(task, "autoretry_for", None):
            assert backoff_max and backoff_max <= retry.BACKOFF_MAX_SECONDS, name


def test_every_periodic_task_is_a_registered_task_with_valid_options():
    from workers import queues
    from workers.schedule import periodic_tasks

    declared = periodic_tasks()
    tasks = _project_tasks()
    assert {p.task for p in declared} >= {
        "workers.diagnostics_record",
        "users.pipeline_sweep",
        "stargazers.stargazer_crawls_dispatch",
        "stargazers.stargazer_claims_reset_stale",
        "feed.feed_rebuild_sweep",
    }
    assert len({p.name for p in declared}) == len(declared)
    for p in declared:
        assert p.task in tasks, f"{p.name}: {p.task} is no registered task"
        assert tasks[p.task] is p.task_object._get_current_object(), p.name
        assert p.queue in queues.ALL, f"{p.name}: unknown queue {p.queue!r}"
        assert p.every_seconds >= 1, p.name
        assert 1 <= p.expires_seconds <= p.every_seconds, f"{p.name}: expires past the interval"
        assert p.description, p.name


def test_seeding_creates_the_declared_rows_and_keeps_admin_edits(db):
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    from workers.schedule import periodic_tasks

    call_command("setup_periodic_tasks", stdout=io.StringIO())
    declared = {p.name: p for p in periodic_tasks()}
    rows = {row.name: row for row in PeriodicTask.objects.filter(name__in=declared)}
    assert set(rows) == set(declared)
    for name, row in rows.items():
        assert row.task == declared[name].task
        assert row.queue == declared[name].queue
        assert row.expire_seconds == declared[name].expires_seconds
        assert row.interval.every == declared[name].every_seconds
    edited = next(iter(rows.values()))
    PeriodicTask.objects.filter(pk=edited.pk).update(enabled=False, queue="low")
    call_command("setup_periodic_tasks", stdout=io.StringIO())
    edited.refresh_from_db()
    assert edited.enabled is False and edited.queue == "low"
