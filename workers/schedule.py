"""Periodic tasks, declared beside their tasks and seeded into django-celery-beat by
`manage.py setup_periodic_tasks`.

    @periodic(name="users: pipeline sweep", every=60, description="...")
    @shared_task(name="users.pipeline_sweep", ...)
    def pipeline_sweep(): ...

Seeding uses get_or_create by name, so an interval or enabled flag edited in Django admin
survives later seeding. `expires` defaults to just under the interval: a beat message
that waited that long is stale and the next one will come.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from celery import current_app

from workers import queues


@dataclass(frozen=True)
class Periodic:
    """One periodic task: the beat row's name, the task object, and its options."""

    name: str
    task_object: Any
    every_seconds: int
    expires_seconds: int
    queue: str
    description: str

    @property
    def task(self) -> str:
        """The Celery name of the task (read once the app has its tasks)."""
        return self.task_object.name


_DECLARED: dict[str, Periodic] = {}


def periodic(
    *,
    name: str,
    every: int,
    description: str,
    expires: int | None = None,
    queue: str = queues.DEFAULT,
) -> Callable[[Any], Any]:
    """Declare the decorated Celery task periodic: every `every` seconds on `queue`."""

    def declare(task: Any) -> Any:
        if name in _DECLARED and _DECLARED[name].task_object is not task:
            raise ValueError(f"periodic task {name!r} declared twice")
        _DECLARED[name] = Periodic(
            name=name,
            task_object=task,
            every_seconds=every,
            expires_seconds=max(every - 1, 1) if expires is None else expires,
            queue=queue,
            description=description,
        )
        return task

    return declare


def periodic_tasks() -> list[Periodic]:
    """Every declared periodic task, once every app's tasks module is loaded."""
    current_app.loader.import_default_modules()  # what a worker does at start: every tasks.py
    return list(_DECLARED.values())
