"""The step graph: what a step is, the context it runs in, and the registry of steps.

A step is a registered `Step`: a name, a scope (once per user, or once per highlighted
repo), the steps it needs first, and `run(ctx) -> output dict`. It raises `StepSkipped`
/ `StepFailed` for outcomes it handles, gateway errors for the run engine to map (rate
limits wait, transient errors retry), and `UserGone` when the user was deleted while it
ran. The built-in steps register in `users.pipeline.builtin`; an upper app registers its
own in its `AppConfig.ready()`, and from then on every run, progress listing, restart
`?from=` and `run --select` knows it: nothing in users/ names it.

Order is deterministic: a topological order of the graph in which, among the steps that
are ready, the one registered first comes first.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from django.db import transaction

from repos.models import Repo
from users.models import GitHubUser, WorkItem
from workers.llm import llm_configured

Scope = Literal["user", "repo"]

# The built-in steps' names (registered in users.pipeline.builtin).
FETCH_PROFILE = "fetch_profile"
FETCH_REPOS = "fetch_repos"
SELECT_HIGHLIGHTS = "select_highlights"
REPO_BLURB = "repo_blurb"
REPO_EMPHASIS = "repo_emphasis"
REPO_KEYWORDS = "repo_keywords"
REPO_KIND = "repo_kind"
REPO_LINK = "repo_link"
REPO_MEDIA = "repo_media"
USER_THEME = "user_theme"


class StepSkipped(Exception):
    def __init__(self, output: dict[str, Any]):
        self.output = output
        super().__init__(output.get("reason", "skipped"))


class StepFailed(Exception):
    def __init__(self, message: str, output: dict[str, Any] | None = None):
        self.output = output
        super().__init__(message)


class UserGone(Exception):
    """The user (or the repo) was deleted while the step ran: stop quietly."""


def llm_answer_kept(ctx: StepContext, *, source: str, error: str | None = None) -> dict | None:
    """The step's earlier output when this run's LLM call failed and the earlier answer
    came from the LLM: a heuristic never replaces an LLM answer by accident (a rerun with
    the LLM away). With no LLM configured at all, the fallback was asked for and wins."""
    previous = ctx.item.output or {}
    if source != "fallback" or not llm_configured() or previous.get("source") != "llm":
        return None
    return {**previous, "kept": True, "llm_error": error or previous.get("llm_error")}


@dataclass
class StepContext:
    user: GitHubUser
    item: WorkItem
    repo: Repo | None = None
    token: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One registered step. `required`: its failure fails the run (else the profile stands)."""

    name: str
    scope: Scope
    run: Callable[[StepContext], dict[str, Any]]
    depends_on: tuple[str, ...] = ()
    required: bool = False
    # Runs again in every run even after it succeeded (an incremental step whose refresh
    # is cheap, e.g. activity's conditional requests); other succeeded steps are skipped.
    refresh: bool = False
    # What a person reads for the step on the pages ("Repositories"); every registered step
    # of the product declares one.
    label: str = ""


class StepGraph:
    """The registered steps, in registration order; the derived views are cached."""

    def __init__(self) -> None:
        self._steps: dict[str, Step] = {}
        self._lock = threading.Lock()
        self._order: tuple[str, ...] | None = None

    def register(self, step: Step) -> Step:
        if step.scope not in ("user", "repo"):
            raise ValueError(f"step {step.name!r}: scope must be 'user' or 'repo'")
        with self._lock:
            existing = self._steps.get(step.name)
            if existing is not None and existing != step:
                raise ValueError(f"step {step.name!r} is registered already")
            self._steps[step.name] = step
            self._order = None
        return step

    def unregister(self, name: str) -> None:
        """Drop a step (tests that register one of their own clean up with this)."""
        with self._lock:
            self._steps.pop(name, None)
            self._order = None

    def order(self) -> tuple[str, ...]:
        """Every step, prerequisites first; registration order breaks ties."""
        with self._lock:
            if self._order is None:
                self._order = self._sorted()
            return self._order

    def _sorted(self) -> tuple[str, ...]:
        steps = self._steps
        for step in steps.values():
            for dep in step.depends_on:
                if dep not in steps:
                    raise ValueError(f"step {step.name!r} depends on unknown step {dep!r}")
                if step.scope == "user" and steps[dep].scope == "repo":
                    raise ValueError(f"user step {step.name!r} cannot depend on repo step {dep!r}")
        done: list[str] = []
        left = list(steps)  # registration order
        while left:
            ready = next(
                (name for name in left if all(d in done for d in steps[name].depends_on)), None
            )
            if ready is None:
                raise ValueError(f"the steps {left} depend on each other in a cycle")
            done.append(ready)
            left.remove(ready)
        return tuple(done)

    def get(self, name: str) -> Step:
        return self._steps[name]

    def __contains__(self, name: object) -> bool:
        return name in self._steps


_graph = StepGraph()


def step_register(step: Step) -> Step:
    """Add a step to every run from now on (call it from `AppConfig.ready()`)."""
    return _graph.register(step)


def step_unregister(name: str) -> None:
    _graph.unregister(name)


def step_get(name: str) -> Step:
    return _graph.get(name)


def step_label(name: str) -> str:
    """The step's label as pages show it; a name no step has any more reads as itself."""
    step = _graph.get(name) if name in _graph else None
    return (step.label if step else "") or name.replace("_", " ").capitalize()


def step_known(name: str) -> bool:
    return name in _graph


def steps_all() -> tuple[str, ...]:
    """Every step name in the order progress lists them."""
    return _graph.order()


def steps_of_scope(scope: Scope) -> tuple[str, ...]:
    return tuple(name for name in _graph.order() if _graph.get(name).scope == scope)


def steps_refreshing() -> tuple[str, ...]:
    """The steps that run again in every run (`Step.refresh`)."""
    return tuple(name for name in steps_all() if _graph.get(name).refresh)


def steps_required() -> frozenset[str]:
    """Steps whose failure fails the run."""
    return frozenset(name for name in _graph.order() if _graph.get(name).required)


def depends_on(name: str) -> tuple[str, ...]:
    return _graph.get(name).depends_on


def steps_from(step: str) -> list[str]:
    """`step` and every step downstream of it (restart ?from=)."""
    out = {step}
    for name in _graph.order():  # prerequisites come first, so one pass reaches all
        if out.intersection(_graph.get(name).depends_on):
            out.add(name)
    return [name for name in _graph.order() if name in out]


@contextlib.contextmanager
def locked_user(user_id: int) -> Iterator[GitHubUser]:
    """A transaction holding the user row (FOR NO KEY UPDATE); UserGone when deleted."""
    with transaction.atomic():
        user = GitHubUser.objects.select_for_update(no_key=True).filter(id=user_id).first()
        if user is None:
            raise UserGone()
        yield user
