"""Reads of the users app: the one user lookup, and the progress and data endpoints."""

from __future__ import annotations

from typing import Any

from django.db.models.functions import Lower

from repos.selectors import user_repos_payload
from users import pipeline
from users.errors import InvalidUsername, UserNotFound
from users.models import GitHubUser, PipelineRun, WorkItem
from workers.github.names import username_valid


def username_validate(*, login: str) -> str:
    """`login` when it follows GitHub's username rules; InvalidUsername (400) otherwise."""
    if not username_valid(login):
        raise InvalidUsername(details={"username": str(login)[:100]})
    return login


def user_get(*, login: str, discovered: bool = False) -> GitHubUser:
    """The user with this login (any capitalisation): 400 for an invalid name, 404 for
    one Gazer does not know. Only users with a profile (active or ghost) count, unless
    `discovered`: the star graph also knows users seen only as stargazers."""
    username_validate(login=login)
    # lower(login) = lower(x) uses the case-insensitive unique index; iexact (UPPER) would
    # scan every user, the star graph's stargazers included (60 ms at 100k users).
    users = GitHubUser.objects.alias(login_lower=Lower("login")).filter(login_lower=login.lower())
    if not discovered:
        users = users.exclude(state=GitHubUser.State.DISCOVERED)
    user = users.first()
    if user is None:
        raise UserNotFound.for_login(login)
    return user


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _item_row(item: WorkItem) -> dict[str, Any]:
    return {
        "step": item.step,
        "scope": "repo" if item.repo_id else "user",
        "repo": item.repo.full_name if item.repo_id and item.repo else None,
        "status": item.status,
        "attempts": item.attempts,
        "queued_at": _iso(item.queued_at),
        "started_at": _iso(item.started_at),
        "finished_at": _iso(item.finished_at),
        "duration_seconds": item.duration_seconds,
        "not_before": _iso(item.not_before),
        "output": item.output,
        "error": item.error or None,
        "run_id": item.run_id,
    }


def _run_row(run: PipelineRun | None) -> dict[str, Any] | None:
    if run is None:
        return None
    return {
        "id": run.id,
        "status": run.status,
        "trigger": run.trigger,
        "from_step": run.from_step or None,
        "selected_steps": run.selected_steps or None,
        "queue": run.queue,
        "not_before": _iso(run.not_before),
        "error": run.error or None,
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
    }


# Run status → the overall state progress reports.
_STATE = {
    PipelineRun.Status.QUEUED: "queued",
    PipelineRun.Status.RUNNING: "running",
    PipelineRun.Status.WAITING: "waiting",
    PipelineRun.Status.SUCCEEDED: "ready",
    PipelineRun.Status.FAILED: "failed",
    PipelineRun.Status.CANCELLED: "failed",
}


def user_progress(*, user: GitHubUser) -> dict[str, Any]:
    """Every step (user- and repo-scoped) with status, timings, output and error, and the
    overall state: queued, running, waiting (rate-limited until `not_before`), ready, failed."""
    run = PipelineRun.objects.filter(user=user).order_by("-created_at", "-id").first()
    order = {step: index for index, step in enumerate(pipeline.steps_all())}
    items = sorted(
        WorkItem.objects.filter(user=user).select_related("repo"),
        key=lambda i: (
            i.repo_id is not None,
            i.repo.full_name.lower() if i.repo_id and i.repo else "",
            order.get(i.step, len(order)),
        ),
    )
    state = _STATE.get(run.status, "queued") if run else "queued"
    message = None
    profile = next(
        (i for i in items if i.step == pipeline.FETCH_PROFILE and i.repo_id is None), None
    )
    if profile is not None and profile.status == WorkItem.Status.FAILED:
        state, message = "failed", profile.error
    elif run is not None and run.status == PipelineRun.Status.WAITING:
        # What the run waits for: a rate limit's reset, or "GitHub errors; retrying at T".
        message = run.error or f"rate limited until {_iso(run.not_before)}"
    elif run is not None and run.error:
        message = run.error
    counts: dict[str, int] = {}
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    return {
        "username": user.login,
        "state": state,
        "rate_limited_until": _iso(run.not_before)
        if run and run.status == PipelineRun.Status.WAITING
        else None,
        "message": message,
        "run": _run_row(run),
        "counts": counts,
        "items": [_item_row(item) for item in items],
    }


def user_data(*, user: GitHubUser) -> dict[str, Any]:
    """The profile: user fields, theme, highlighted repos (blurb, keywords, emphasis, kind,
    link, gallery) and all linked repos (pushed_at desc; null until fetch_repos ran)."""
    fetched = WorkItem.objects.filter(
        user=user, repo=None, step=pipeline.FETCH_REPOS, status=WorkItem.Status.SUCCEEDED
    ).exists()
    highlighted, repos = user_repos_payload(user_id=user.id)
    return {
        "user": {
            "login": user.login,
            "github_id": user.github_id,
            "name": user.name,
            "avatar_url": user.avatar_url,
            "html_url": user.html_url,
            "bio": user.bio,
            "company": user.company,
            "location": user.location,
            "blog": user.blog,
            "public_repos": user.public_repos,
            "followers": user.followers,
            "is_ghost": user.is_ghost,
            "state": user.state,
            "theme": user.theme,
            "highlighted_repos": [row["name"] for row in highlighted],
            "profile_fetched_at": _iso(user.profile_fetched_at),
        },
        "theme": user.theme,
        "highlighted_repos": highlighted,
        "repos": repos if fetched else None,
    }
