"""Writes and workflows of the feed: serving a page, building stage 1, rebuilding with
LLM judgments, and the debounced rebuild requests.

    GET  → feed_page_serve: the viewer's stored entries ranked with fatigue, exposures
           recorded in the same statement. A viewer never built gets stage 1 at once.
    POST → feed_rebuild_request: one queued rebuild per viewer; the task runs
           feed_rebuild_run: stage 1 over every candidate, the LLM judges the top N in
           batches (cached by fingerprint), entries replaced.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from feed import errors, judge, page, scoring, selectors
from feed.models import FeedEntry, FeedJudgment, FeedRebuild
from feed.tasks import REBUILD_TIME_LIMIT
from feed.tasks import feed_rebuild as feed_rebuild_task
from stargazers.services import star_affinity_get_or_compute
from users.errors import UserNotFound
from users.models import GitHubUser
from users.selectors import user_get, username_validate

logger = logging.getLogger(__name__)

LIMIT_MIN, LIMIT_MAX, LIMIT_DEFAULT = 1, 100, 30
_LIMIT_RE = re.compile(r"^[0-9]{1,4}$")


# ------------------------------------------------------------------------ inputs
def limit_parse(raw: str | None) -> int:
    """`?limit=`: absent → 30; an integer 1–100 written plainly; anything else a 400."""
    if raw is None:
        return LIMIT_DEFAULT
    text = str(raw)
    if not _LIMIT_RE.match(text) or not (LIMIT_MIN <= int(text) <= LIMIT_MAX):
        raise errors.InvalidLimit(details={"limit": text, "min": LIMIT_MIN, "max": LIMIT_MAX})
    return int(text)


def limit_check(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not LIMIT_MIN <= limit <= LIMIT_MAX:
        raise errors.InvalidLimit(details={"limit": limit, "min": LIMIT_MIN, "max": LIMIT_MAX})
    return limit


def viewer_resolve(viewer: GitHubUser | str) -> GitHubUser:
    """A user instance as is; a login through the one user lookup (400 invalid, 404)."""
    if isinstance(viewer, GitHubUser):
        return viewer
    return user_get(login=viewer)


# ------------------------------------------------------------------------ stage 1
def _star_affinity(viewer: GitHubUser) -> dict[str, Any]:
    return star_affinity_get_or_compute(user_id=viewer.pk)


def feed_stage1(*, viewer: GitHubUser, now: datetime | None = None) -> list[scoring.Scored]:
    """Every candidate scored against the viewer's profile and star graph, best first."""
    now = now or timezone.now()
    repos = selectors.viewer_profile_repos(viewer=viewer)
    profile = scoring.ViewerProfile.from_repos(repos, theme=viewer.theme)
    candidates = [scoring.candidate_from_row(r) for r in selectors.candidates_list(viewer=viewer)]
    return scoring.score_all(profile, candidates, _star_affinity(viewer), now=now)


def _entries_replace(
    *, viewer: GitHubUser, scored: list[scoring.Scored], verdicts: dict[int, tuple[bool, str]]
) -> int:
    """Replace the viewer's entries with the best `FEED_KEEP` (one delete, one insert)."""
    keep = scored[: settings.FEED_KEEP]
    rows = []
    for s in keep:
        include, by = verdicts.get(s.candidate.repo_id, (None, ""))
        reasons = (["llm"] if include and by in ("llm", "cache") else []) + s.reasons
        rows.append(
            FeedEntry(
                viewer_id=viewer.pk,
                repo_id=s.candidate.repo_id,
                author_id=s.candidate.author_id,
                score=round(s.score, 6),
                reasons=reasons,
                include=include,
                judged_by=by,
            )
        )
    with transaction.atomic():
        FeedEntry.objects.filter(viewer_id=viewer.pk).delete()
        FeedEntry.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def _cached_verdicts(*, viewer: GitHubUser, scored: list[scoring.Scored]) -> dict[int, tuple]:
    """Valid cached judgments (fingerprints and model match) for the kept candidates."""
    fingerprints = judge.fingerprints(viewer=viewer, scored=scored[: settings.FEED_KEEP])
    found = FeedJudgment.objects.filter(
        viewer_id=viewer.pk, repo_id__in=list(fingerprints.candidates)
    ).values("repo_id", "include", "viewer_fingerprint", "candidate_fingerprint", "model")
    return {
        row["repo_id"]: (row["include"], FeedEntry.JudgedBy.CACHE)
        for row in found
        if row["viewer_fingerprint"] == fingerprints.viewer
        and row["candidate_fingerprint"] == fingerprints.candidates[row["repo_id"]]
        and row["model"] == fingerprints.model
    }


def feed_stage1_store(*, viewer: GitHubUser, now: datetime | None = None) -> int:
    """Stage 1 alone, stored (with any still-valid cached judgments): a first feed at once."""
    scored = feed_stage1(viewer=viewer, now=now)
    verdicts = _cached_verdicts(viewer=viewer, scored=scored)
    stored = _entries_replace(viewer=viewer, scored=scored, verdicts=verdicts)
    FeedRebuild.objects.get_or_create(viewer_id=viewer.pk)
    FeedRebuild.objects.filter(viewer_id=viewer.pk).update(
        candidates_seen=selectors.candidates_count()
    )
    return stored


# ------------------------------------------------------------------------ serving
# Serving a page records it: the page statement with one more CTE that bumps each
# served item's exposure (times_shown + 1, last_shown_at = now), so the viewer lookup,
# the rebuild check, the ranking and the recording stay one statement.
#
# The exposures are counters the ranking reads, not records anyone is owed: with
# FEED_EXPOSURE_ASYNC_COMMIT the statement also sets synchronous_commit off for its
# transaction, which then does not wait for its WAL flush (a Postgres crash may lose the
# last fraction of a second of bumps, never consistency). The setting alone decides the
# SQL. synchronous_commit is a transaction's setting: the views serve in autocommit
# (ATOMIC_REQUESTS is off and they open no transaction), so it covers this statement
# alone; a caller that serves inside its own transaction commits that transaction the
# same way.
_QUIET_CTE = """,
    quiet AS (SELECT set_config('synchronous_commit', 'off', true))
"""

_BUMP_CTE = f""",
    bump AS (
        INSERT INTO {page.EXPOSURE} AS x (viewer_id, repo_id, times_shown, last_shown_at)
        SELECT (SELECT id FROM viewer), repo_id, 1, %(now)s::timestamptz FROM page {{quiet}}
        ON CONFLICT (viewer_id, repo_id) DO UPDATE
            SET times_shown = x.times_shown + 1, last_shown_at = EXCLUDED.last_shown_at
    )
"""  # noqa: S608 - identifiers from model metadata; values are parameters


def _page_serve_sql(*, by_login: bool) -> str:
    """The page statement that records what it serves."""
    if settings.FEED_EXPOSURE_ASYNC_COMMIT:
        more = _QUIET_CTE + _BUMP_CTE.format(quiet="CROSS JOIN quiet")
    else:
        more = _BUMP_CTE.format(quiet="")
    return page.page_sql(by_login=by_login, more_ctes=more)


def _page_serve_once(
    *, viewer: GitHubUser | str, limit: int, now: datetime | None
) -> page.Page | None:
    """One serving statement for a user instance or a login (None: no such viewer)."""
    now = now or timezone.now()
    if isinstance(viewer, GitHubUser):
        params = page.page_params(limit=limit, now=now, viewer_id=viewer.pk)
        return page.page_run(_page_serve_sql(by_login=False), params)
    login = username_validate(login=viewer)
    params = page.page_params(limit=limit, now=now, login=login)
    return page.page_run(_page_serve_sql(by_login=True), params)


def feed_page_serve(
    *, viewer: GitHubUser | str, limit: int = LIMIT_DEFAULT, now: datetime | None = None
) -> page.Page:
    """Serve the page `GET /for-you/<viewer>` answers and record every served item's
    exposure: one statement reads the viewer, ranks, records, and says whether a
    rebuild is due.

    A viewer never built gets stage 1 now and a rebuild queued; a viewer whose candidate
    set grew (or shrank) since the last build gets a rebuild queued (debounced) and this
    page from the entries it has.
    """
    limit_check(limit)
    served = _page_serve_once(viewer=viewer, limit=limit, now=now)
    if served is None:
        raise UserNotFound.for_login(viewer.login if isinstance(viewer, GitHubUser) else viewer)
    if not served.has_entries:
        user = GitHubUser.objects.get(pk=served.viewer_id)
        feed_stage1_store(viewer=user, now=now)
        feed_rebuild_request(viewer=user, trigger="first_view")
        served = _page_serve_once(viewer=user, limit=limit, now=now)
    elif (
        served.candidates_seen is not None
        and served.candidates != served.candidates_seen
        and not served.queued
    ):
        user = GitHubUser.objects.get(pk=served.viewer_id)
        feed_rebuild_request(viewer=user, trigger="candidates_grew")
    return served


def feed_page_peek(
    *, viewer: GitHubUser | str, limit: int = LIMIT_DEFAULT, now: datetime | None = None
) -> page.Page:
    """The page `feed_page_serve` would serve now, recording no exposure and queueing
    nothing (a viewer never built gets stage 1 stored, as any first look does)."""
    viewer = viewer_resolve(viewer)
    limit_check(limit)
    if not FeedEntry.objects.filter(viewer_id=viewer.pk).exists():
        feed_stage1_store(viewer=viewer, now=now)
    served = selectors.page_get(viewer_id=viewer.pk, limit=limit, now=now)
    if served is None:  # deleted between the two reads
        raise UserNotFound.for_login(viewer.login)
    return served


def feed_serve(
    *, viewer: GitHubUser | str, limit: int = LIMIT_DEFAULT, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Serve the items `GET /for-you/<viewer>` returns, as dicts (exposures recorded)."""
    return feed_page_serve(viewer=viewer, limit=limit, now=now).items()


def feed_items_peek(
    *, viewer: GitHubUser | str, limit: int = LIMIT_DEFAULT
) -> list[dict[str, Any]]:
    """The items `GET /for-you` would serve now, without recording exposures (and without
    building or triggering anything: a viewer never built gets stage 1 computed here)."""
    return feed_page_peek(viewer=viewer, limit=limit).items()


# ------------------------------------------------------------------------ rebuilds
def feed_rebuild_request(*, viewer: GitHubUser | str, trigger: str = "request") -> FeedRebuild:
    """Queue a rebuild unless one is already queued (the flip of a NULL `queued_at` is
    the only thing that enqueues); the task is sent on commit."""
    viewer = viewer_resolve(viewer)
    now = timezone.now()
    FeedRebuild.objects.get_or_create(viewer_id=viewer.pk)
    flipped = FeedRebuild.objects.filter(viewer_id=viewer.pk, queued_at__isnull=True).update(
        queued_at=now, trigger=trigger[:20]
    )
    if flipped:
        transaction.on_commit(lambda v=viewer.pk: _rebuild_enqueue(v))
        logger.info("feed.rebuild_queued", extra={"viewer_id": viewer.pk, "trigger": trigger})
    return FeedRebuild.objects.get(viewer_id=viewer.pk)


def _rebuild_enqueue(viewer_id: int) -> None:
    feed_rebuild_task.delay(viewer_id)


def _stale_after() -> timedelta:
    return timedelta(seconds=REBUILD_TIME_LIMIT + 60)


def feed_rebuild_claim(*, viewer_id: int) -> bool:
    """Take the queued request if no build runs (or the running one is past its time limit)."""
    now = timezone.now()
    return bool(
        FeedRebuild.objects.filter(viewer_id=viewer_id, queued_at__isnull=False)
        .filter(~Q(status=FeedRebuild.Status.RUNNING) | Q(started_at__lt=now - _stale_after()))
        .update(queued_at=None, status=FeedRebuild.Status.RUNNING, started_at=now, error="")
    )


def feed_rebuild_run(*, viewer_id: int, now: datetime | None = None) -> dict[str, Any] | None:
    """One rebuild: stage 1 over every candidate, the LLM judges stage 1's top N in
    batches (cached pairs skipped, failed batches keep stage 1's verdict), entries
    replaced. Returns the stats, or None when the viewer is gone or the request was
    taken by another build."""
    viewer = GitHubUser.objects.filter(pk=viewer_id).first()
    if viewer is None:
        logger.info("feed.rebuild_viewer_gone", extra={"viewer_id": viewer_id})
        return None
    if not feed_rebuild_claim(viewer_id=viewer_id):
        return None
    started = time.monotonic()
    try:
        count = selectors.candidates_count()
        scored = feed_stage1(viewer=viewer, now=now)
        stage1_seconds = time.monotonic() - started
        outcome = judge.judge_top(viewer=viewer, scored=scored)
        verdicts = {**_cached_verdicts(viewer=viewer, scored=scored), **outcome.verdicts}
        stored = _entries_replace(viewer=viewer, scored=scored, verdicts=verdicts)
    except Exception as exc:
        _rebuild_finish(viewer_id, FeedRebuild.Status.FAILED, {}, error=repr(exc)[:2000])
        raise
    stats = {
        "candidates": len(scored),
        "entries": stored,
        **outcome.stats,
        "stage1_seconds": round(stage1_seconds, 3),
        "seconds": round(time.monotonic() - started, 3),
    }
    _rebuild_finish(viewer_id, FeedRebuild.Status.SUCCEEDED, stats, candidates_seen=count)
    logger.info("feed.rebuilt", extra={"viewer_id": viewer_id, **stats})
    return stats


def _rebuild_finish(
    viewer_id: int, status: str, stats: dict, *, error: str = "", candidates_seen: int | None = None
) -> None:
    fields: dict[str, Any] = {
        "status": status,
        "finished_at": timezone.now(),
        "stats": stats,
        "error": error,
        "builds": F("builds") + 1,
    }
    if candidates_seen is not None:
        fields["candidates_seen"] = candidates_seen
    FeedRebuild.objects.filter(viewer_id=viewer_id).update(**fields)
    # A request that came while this build ran found it running and waits for us.
    if FeedRebuild.objects.filter(viewer_id=viewer_id, queued_at__isnull=False).exists():
        transaction.on_commit(lambda: _rebuild_enqueue(viewer_id))


def feed_rebuild_wait(*, viewer: GitHubUser, since: datetime, timeout: float) -> bool:
    """Poll the rebuild row until a build that started after `since` finished."""
    deadline = time.monotonic() + timeout
    while True:
        row = (
            FeedRebuild.objects.filter(viewer_id=viewer.pk)
            .values("queued_at", "status", "finished_at", "started_at")
            .first()
        )
        if (
            row
            and row["queued_at"] is None
            and row["status"] != FeedRebuild.Status.RUNNING
            and row["started_at"]
            and row["started_at"] >= since
        ):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def feed_rebuild_sweep(*, older_than_seconds: int = 300) -> int:
    """Beat: re-send rebuild requests queued long ago whose message was lost."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        FeedRebuild.objects.filter(queued_at__lt=cutoff)
        .exclude(status=FeedRebuild.Status.RUNNING)
        .values_list("viewer_id", flat=True)
    )
    for viewer_id in ids:
        _rebuild_enqueue(viewer_id)
    return len(ids)


def profile_ready_received(*, user_id: int, **_: Any) -> None:
    """A profile finished: that viewer's feed is rebuilt (its profile is the judge's input)."""
    viewer = GitHubUser.objects.filter(pk=user_id).first()
    if viewer is not None:
        feed_rebuild_request(viewer=viewer, trigger="profile_ready")
