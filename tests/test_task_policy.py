"""Every registered Celery task follows the one policy: an explicit name, soft and hard
time limits, a bounded retry count (workers.retry)."""

from __future__ import annotations

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
