"""Writes of the activity app: two years of a user's authored commits, as the heatmap
document whose schema clients parse strictly.

Cost grows with repositories, not commits. Per linked repository the REST cost is at
most three conditional requests: its branches (whose heads tell whether anything
changed since the last scan), the first page of GitHub's author-filtered commit list
(which teaches the user's author emails and checks the clone), and its `/languages`
(which resolve ambiguous extensions). Everything else comes from git: a blobless
clone shallow to the window start (or, on a refresh, to just before the newest commit
seen), the other branches fetched as shallow, and one `git log --name-only` over all
of them, so each commit counts once however many branches carry it. An unchanged
repository costs one 304 (free at GitHub) and no clone.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from activity.linguist import Classifier
from activity.models import ActivityRepo, UserActivity
from repos.selectors import user_links_list
from users.models import GitHubUser, WorkItem
from users.pipeline import FETCH_REPOS, UserGone
from workers.github import errors as gh_errors
from workers.github import github
from workers.github import graphql as gq
from workers.github.git import (
    GitError,
    GitTransient,
    clone_repo,
    git_changed_files,
    git_dir_bytes,
    git_fetch_branches,
    git_fetch_shas,
    git_log_files,
    git_ls_remote,
    git_shallow_shas,
)
from workers.timestamps import timestamp_parse as _dt

logger = logging.getLogger(__name__)

DOCUMENT_VERSION = 1
FIRST_PAGE = 100  # GitHub's largest page
DEFER_UNDER_SECONDS = 10  # no clone starts with less time than this before the deadline


def window_for(today: date) -> tuple[date, date]:
    """The window: the last `ACTIVITY_WINDOW_YEARS` × 365 days, up to today."""
    return today - timedelta(days=365 * settings.ACTIVITY_WINDOW_YEARS), today


def document_build(
    *, repo_days: dict[str, dict[str, list[str]]], window_start: date, window_end: date
) -> dict[str, Any]:
    """The document from each repo's {day: [languages]}: presence only, lists
    sorted and deduplicated, `repo_days` and `language_days` the reverse indexes of
    `days`, nothing outside the window."""
    lo, hi = window_start.isoformat(), window_end.isoformat()
    merged: dict[str, tuple[set[str], set[str]]] = {}
    for repo, per_day in repo_days.items():
        for day, languages in per_day.items():
            if not lo <= day <= hi:
                continue
            repos, langs = merged.setdefault(day, (set(), set()))
            repos.add(repo)
            langs.update(languages)
    days = {
        day: {"repos": sorted(repos), "languages": sorted(langs)}
        for day, (repos, langs) in sorted(merged.items())
    }
    by_repo: dict[str, list[str]] = {}
    by_language: dict[str, list[str]] = {}
    for day, entry in days.items():
        for repo in entry["repos"]:
            by_repo.setdefault(repo, []).append(day)
        for language in entry["languages"]:
            by_language.setdefault(language, []).append(day)
    return {
        "version": DOCUMENT_VERSION,
        "window_years": settings.ACTIVITY_WINDOW_YEARS,
        "days": days,
        "repo_days": dict(sorted(by_repo.items())),
        "language_days": dict(sorted(by_language.items())),
    }


def _day(stamp: str) -> str | None:
    """The UTC date of a commit's author date."""
    when = _dt(stamp)
    return when.date().isoformat() if when else None


def noreply_identities(user: GitHubUser) -> set[str]:
    """The account's noreply addresses: GitHub attributes them to it by construction."""
    login = user.login.lower()
    out = {f"{login}@users.noreply.github.com"}
    if user.github_id:
        out.add(f"{user.github_id}+{login}@users.noreply.github.com")
    return out


@dataclass
class RepoScan:
    """One linked repository during a scan."""

    full_name: str
    default_branch: str
    row: ActivityRepo | None
    status: str = ActivityRepo.Status.OK
    error: str = ""
    heads: dict[str, str] = field(default_factory=dict)
    unchanged: bool = False
    incremental: bool = False  # adds to the stored days instead of replacing them
    since: date | None = None
    github_commits: dict[str, str] = field(default_factory=dict)  # sha -> author date
    github_complete: bool = False
    languages: dict[str, int] = field(default_factory=dict)
    days: dict[str, set[str]] = field(default_factory=dict)
    newest_sha: str = ""
    newest_at: datetime | None = None
    counted: int = 0
    left_out: int = 0
    clone_bytes: int = 0
    cloned: bool = False
    deferred: bool = False
    github_only: int = 0
    # Git's passing error for this repo: the step waits and asks again (`_scans_keep`).
    transient: GitTransient | None = None


class _Skip(Exception):
    def __init__(self, status: str, error: str):
        self.status, self.error = status, error
        super().__init__(error)


def _gateway_call(fn, *args, **kwargs):
    """A REST call whose 409/404/451 mean the repo is skipped, not that the step failed."""
    try:
        return fn(*args, **kwargs)
    except gh_errors.EmptyRepository as exc:
        raise _Skip(ActivityRepo.Status.EMPTY, str(exc)[:300]) from None
    except gh_errors.Blocked as exc:
        raise _Skip(ActivityRepo.Status.BLOCKED, str(exc)[:300]) from None
    except gh_errors.NotFound as exc:
        raise _Skip(ActivityRepo.Status.NOT_FOUND, str(exc)[:300]) from None


def _rest_scan(
    scan: RepoScan, *, login: str, window_start: date, token: str | None, identities: set[str]
) -> None:
    """Branch heads; when they moved, GitHub's first author-filtered page and /languages."""
    gw = github()
    branches = _gateway_call(gw.branches, scan.full_name, limit=100, token=token)
    if not branches:
        raise _Skip(ActivityRepo.Status.EMPTY, "no branches")
    names = [b["name"] for b in branches if b.get("name")]
    chosen = [scan.default_branch] if scan.default_branch in names else []
    room = settings.ACTIVITY_BRANCHES_LIMIT - len(chosen)
    chosen += [n for n in names if n not in chosen][:room]
    heads = {b["name"]: (b.get("commit") or {}).get("sha", "") for b in branches}
    scan.heads = {name: heads[name] for name in chosen}
    if not scan.default_branch or scan.default_branch not in names:
        scan.default_branch = chosen[0]
    _since(scan, window_start)
    if scan.unchanged:
        return
    page = _author_commits(scan, login=login, limit=FIRST_PAGE, token=token)
    for item in page:
        info = (item.get("commit") or {}).get("author") or {}
        account = (item.get("author") or {}).get("login") or ""
        if account.lower() == login.lower() and info.get("email"):
            identities.add(info["email"].lower())
        if item.get("sha") and info.get("date"):
            scan.github_commits[item["sha"]] = info["date"]
    scan.github_complete = len(page) < FIRST_PAGE
    scan.languages = _gateway_call(gw.languages, scan.full_name, token=token) or {}


def _clone_open(scan: RepoScan, *, token: str | None, left: Callable[[float], float]):
    """Open the blobless clone of the default branch since `scan.since` (a repo that
    cannot be cut there is cloned at depth 1); returns (context manager, path)."""
    common = {
        "blobless": True,
        "branch": scan.default_branch,
        "no_checkout": True,
        "token": token,
        "timeout": left(settings.ACTIVITY_CLONE_TIMEOUT_SECONDS),
        "max_bytes": settings.ACTIVITY_MAX_CLONE_BYTES,
    }
    try:
        cm = clone_repo(scan.full_name, shallow_since=scan.since, **common)
        return cm, cm.__enter__()
    except GitError as exc:
        if "shallow" not in str(exc):
            raise
        common["timeout"] = left(settings.ACTIVITY_CLONE_TIMEOUT_SECONDS)
        cm = clone_repo(scan.full_name, depth=1, **common)
        return cm, cm.__enter__()


def _commits_mine(
    scan: RepoScan,
    commits: list[dict[str, Any]],
    *,
    identities: set[str],
    window: tuple[date, date],
    user_budget: int,
) -> tuple[list[tuple[str, str, dict[str, Any]]], set[str]]:
    """The user's commits in the window, newest first, cut at the per-repo and the
    user's remaining cap (what is cut counted in `scan.left_out`), as (authored_at,
    day, commit), and the shas of all of them before the cut; the clone's newest commit
    noted on the scan."""
    lo, hi = window[0].isoformat(), window[1].isoformat()
    for commit in commits:
        when = _dt(commit["committed_at"])
        if when and (scan.newest_at is None or when > scan.newest_at):
            scan.newest_at, scan.newest_sha = when, commit["sha"]
    mine = []
    for commit in commits:
        if commit["author_email"].lower() in identities or commit["sha"] in scan.github_commits:
            day = _day(commit["authored_at"])
            if day and lo <= day <= hi:
                mine.append((commit["authored_at"], day, commit))
    seen = {c["sha"] for _, _, c in mine}
    mine.sort(key=lambda m: m[0], reverse=True)
    cap = max(0, min(settings.ACTIVITY_MAX_COMMITS_PER_REPO, user_budget))
    scan.left_out = max(0, len(mine) - cap)
    return mine[:cap], seen


def _days_classify(
    scan: RepoScan, path: Path, mine: list[tuple[str, str, dict[str, Any]]], token: str | None
) -> None:
    """Each commit's day gets the languages of the files it changed."""
    boundary = git_shallow_shas(path) & {c["sha"] for _, _, c in mine}
    if boundary:
        # A commit at the shallow edge would list its whole tree: fetch its parent.
        git_fetch_shas(path, sorted(boundary), depth=2, token=token)
    classifier = Classifier(scan.languages)
    for _, day, commit in mine:
        files = commit["files"]
        if commit["sha"] in boundary:
            files = git_changed_files(path, commit["sha"], token=token)
        scan.days.setdefault(day, set()).update(classifier.languages_of(files))


def _choose_heads(scan: RepoScan, default: str, heads: dict[str, str]) -> None:
    """The default branch and the first others by name, up to the branch cap."""
    names = sorted(heads)
    if default not in heads:
        default = scan.default_branch if scan.default_branch in heads else names[0]
    scan.default_branch = default
    room = settings.ACTIVITY_BRANCHES_LIMIT - 1
    chosen = [default, *[n for n in names if n != default][:room]]
    scan.heads = {name: heads[name] for name in chosen}


def _since(scan: RepoScan, window_start: date) -> None:
    """Unchanged heads end the scan; else from where the last scan left off (or the
    window's start)."""
    row = scan.row
    if (
        row is not None
        and row.status in (ActivityRepo.Status.OK, ActivityRepo.Status.NO_LANGUAGES)
        and row.heads == scan.heads
    ):
        scan.unchanged = True
        return
    scan.incremental = bool(
        row is not None and row.status == ActivityRepo.Status.OK and row.newest_at
    )
    scan.since = window_start
    if scan.incremental and row is not None and row.newest_at:
        overlap = timedelta(days=settings.ACTIVITY_REFRESH_OVERLAP_DAYS)
        scan.since = max(window_start, (row.newest_at - overlap).date())


def _graphql_scans(
    scans: list[RepoScan],
    *,
    login: str,
    window_start: date,
    token: str | None,
    identities: set[str],
    uid: str,
) -> None:
    """Branch heads over git (`ls-remote`: no API budget, so an unchanged repo costs
    nothing); for the repos whose heads moved, one GraphQL query per few dozen repos for
    their languages and GitHub's first author-filtered page since the last scan."""
    pending: list[RepoScan] = []
    for scan in scans:
        try:
            default, heads = git_ls_remote(
                scan.full_name, token=token, timeout=settings.ACTIVITY_FETCH_TIMEOUT_SECONDS
            )
        except GitTransient as exc:
            # Not a missing repository: asked again on the step's next attempt.
            scan.transient, scan.deferred = exc, True
            continue
        except GitError as exc:
            blocked = "error: 451" in str(exc)
            scan.status = ActivityRepo.Status.BLOCKED if blocked else ActivityRepo.Status.NOT_FOUND
            scan.error = str(exc)[:300]
            continue
        if not heads:
            scan.status, scan.error = ActivityRepo.Status.EMPTY, "no branches"
            continue
        _choose_heads(scan, default, heads)
        _since(scan, window_start)
        if not scan.unchanged:
            pending.append(scan)

    def build(part: list[RepoScan]) -> tuple[str, dict]:
        query, variables = gq.activity_query(
            [(s.full_name, f"{s.since.isoformat()}T00:00:00Z") for s in part]
        )
        return query, {**variables, "uid": uid}

    found, _ = gq.batched(github(), pending, build, chunk=gq.activity_chunk(), token=token)
    for i, scan in enumerate(pending):
        node = found.get(i)
        if not node:
            scan.status, scan.error = ActivityRepo.Status.NOT_FOUND, "not found on GitHub"
            continue
        edges = (node.get("languages") or {}).get("edges") or []
        scan.languages = {e["node"]["name"]: int(e.get("size") or 0) for e in edges}
        target = ((node.get("defaultBranchRef") or {}).get("target")) or {}
        page = (target.get("history") or {}).get("nodes") or []
        for item in page:
            author = item.get("author") or {}
            account = (author.get("user") or {}).get("login") or ""
            if account.lower() == login.lower() and author.get("email"):
                identities.add(author["email"].lower())
            if item.get("oid") and item.get("authoredDate"):
                scan.github_commits[item["oid"]] = item["authoredDate"]
        scan.github_complete = len(page) < gq.COMMITS_PER_BRANCH


def _coverage_repos(user_id: int) -> tuple[list[tuple[str, str]], str]:
    """The linked repos, then every other repo the fetch step found the user committed to
    in the window ((full name, default branch)), and the user's GraphQL id."""
    out = [
        (link.repo.full_name, link.repo.default_branch) for link in user_links_list(user_id=user_id)
    ]
    output = (
        WorkItem.objects.filter(user_id=user_id, step=FETCH_REPOS, repo=None)
        .values_list("output", flat=True)
        .first()
    ) or {}
    seen = {name.lower() for name, _ in out}
    for entry in output.get("committed_repos") or []:
        name = entry.get("full_name") or ""
        if name and name.lower() not in seen:
            seen.add(name.lower())
            out.append((name, entry.get("default_branch") or ""))
    return out, output.get("user_node_id") or ""


def _git_scan(
    scan: RepoScan,
    *,
    identities: set[str],
    window: tuple[date, date],
    token: str | None,
    user_budget: int,
    deadline: float,
) -> None:
    """Match the user's commits in the clone across the chosen branches."""
    lo, hi = window[0].isoformat(), window[1].isoformat()

    def left(limit: float) -> float:
        # each git call's own timeout, but never past the step's deadline
        return max(1.0, min(float(limit), deadline - time.monotonic()))

    cm, path = _clone_open(scan, token=token, left=left)
    try:
        scan.cloned = True
        others = [b for b in scan.heads if b != scan.default_branch]
        fetched = git_fetch_branches(
            path,
            others,
            shallow_since=scan.since,
            token=token,
            timeout=left(settings.ACTIVITY_FETCH_TIMEOUT_SECONDS),
        )
        revs = ["HEAD", *(f"refs/remotes/origin/{b}" for b in fetched)]
        commits = list(git_log_files(path, revs))
        scan.clone_bytes = git_dir_bytes(path)
        mine, seen = _commits_mine(
            scan, commits, identities=identities, window=window, user_budget=user_budget
        )
        _days_classify(scan, path, mine, token)
        scan.counted = len(mine)
        previous = scan.row.newest_at if scan.incremental and scan.row is not None else None
        if previous is not None:
            # the overlap was counted by the last scan already
            scan.counted = sum(
                1 for _, _, c in mine if (_dt(c["committed_at"]) or previous) > previous
            )
        # GitHub's list is the check: a commit it names that the clone did not match
        # still counts its day.
        for sha, stamp in scan.github_commits.items():
            day = _day(stamp)
            if sha not in seen and day and lo <= day <= hi:
                scan.days.setdefault(day, set())
                scan.github_only += 1
    finally:
        cm.__exit__(None, None, None)


def _author_commits(scan: RepoScan, *, login: str, limit: int, token: str | None) -> list:
    """GitHub's author-filtered list of the default branch since `scan.since`
    (conditional requests: an unchanged page is a free 304)."""
    assert scan.since is not None
    return _gateway_call(
        github().commits,
        scan.full_name,
        author=login,
        since=datetime.combine(scan.since, datetime.min.time(), tzinfo=UTC),
        limit=limit,
        token=token,
        cache=True,
    )


def _rest_days(scan: RepoScan, *, login: str, window: tuple[date, date], token: str | None):
    """Without a clone: days from GitHub's author-filtered list (default branch), no
    languages."""
    lo, hi = window[0].isoformat(), window[1].isoformat()
    items = _author_commits(
        scan, login=login, limit=settings.ACTIVITY_MAX_COMMITS_PER_REPO, token=token
    )
    for item in items:
        day = _day(((item.get("commit") or {}).get("author") or {}).get("date") or "")
        if day and lo <= day <= hi:
            scan.days.setdefault(day, set())
    scan.counted = len(items)


def _scans_check(
    *, user: GitHubUser, window: tuple[date, date], token: str | None, identities: set[str]
) -> list[RepoScan]:
    """One scan per repo the document covers (the linked ones, then every other repo the
    user committed to in the window), its API part done: which changed, which are skipped."""
    repos, uid = _coverage_repos(user.id)
    rows = {r.full_name.lower(): r for r in ActivityRepo.objects.filter(user_id=user.id)}
    scans = [
        RepoScan(full_name=name, default_branch=branch, row=rows.get(name.lower()))
        for name, branch in repos
    ]
    if uid and settings.GITHUB_PROFILE_FETCH == "graphql":
        _graphql_scans(
            scans,
            login=user.login,
            window_start=window[0],
            token=token,
            identities=identities,
            uid=uid,
        )
        return scans
    for scan in scans:
        try:
            _rest_scan(
                scan, login=user.login, window_start=window[0], token=token, identities=identities
            )
        except _Skip as skip:
            scan.status, scan.error = skip.status, skip.error
    return scans


def _scan_without_clone(
    scan: RepoScan, exc: GitError, *, login: str, window: tuple[date, date], token: str | None
) -> None:
    """A repo git could not scan: its days from GitHub's list, without languages."""
    scan.status = ActivityRepo.Status.NO_LANGUAGES
    scan.error = str(exc)[:300]
    scan.days = {}
    try:
        _rest_days(scan, login=login, window=window, token=token)
    except _Skip as skip:
        scan.status, scan.error = skip.status, skip.error


def _scans_clone(
    scans: list[RepoScan],
    *,
    login: str,
    identities: set[str],
    window: tuple[date, date],
    token: str | None,
    deadline: float,
) -> int:
    """Clone and scan the changed repos within the user's commit budget and the step's
    deadline (the rest deferred); returns the commits the user's cap left out."""
    budget = settings.ACTIVITY_MAX_COMMITS_PER_USER
    for scan in scans:
        if scan.unchanged and scan.row is not None:
            budget -= scan.row.commits_counted
    user_cap_left_out = 0
    for scan in scans:
        if scan.status != ActivityRepo.Status.OK or scan.unchanged or scan.deferred:
            continue
        if deadline - time.monotonic() < DEFER_UNDER_SECONDS:
            scan.deferred = True  # the next refresh picks it up (its heads are not stored)
            continue
        if budget <= 0:
            user_cap_left_out += len(scan.github_commits)
            scan.deferred = True
            continue
        try:
            _git_scan(
                scan,
                identities=identities,
                window=window,
                token=token,
                user_budget=budget,
                deadline=deadline,
            )
        except GitTransient as exc:
            # Not days without languages: asked again on the step's next attempt.
            scan.transient, scan.deferred = exc, True
            scan.days, scan.counted, scan.cloned = {}, 0, False
            continue
        except GitError as exc:
            if time.monotonic() >= deadline - 1:
                # stopped by the deadline, not by the repo: try again next refresh
                scan.deferred, scan.days, scan.counted, scan.cloned = True, {}, 0, False
                continue
            _scan_without_clone(scan, exc, login=login, window=window, token=token)
        budget -= scan.counted
        if scan.counted and scan.left_out and budget <= 0:
            user_cap_left_out += scan.left_out
    return user_cap_left_out


def user_activity_compute(*, user_id: int, token: str | None = None) -> dict[str, Any]:
    """Scan the repos the user committed to in the window (only what changed), store the
    document; returns the coverage."""
    started = time.monotonic()
    # Past this no clone starts and none runs on: the step task's soft limit is 240 s.
    deadline = started + settings.ACTIVITY_STEP_BUDGET_SECONDS
    user = GitHubUser.objects.filter(id=user_id).first()
    if user is None:
        raise UserGone()
    window = window_for(timezone.now().astimezone(UTC).date())
    stored = UserActivity.objects.filter(user_id=user_id).only("identities").first()
    identities = set(stored.identities if stored else []) | noreply_identities(user)
    scans = _scans_check(user=user, window=window, token=token, identities=identities)
    user_cap_left_out = _scans_clone(
        scans,
        login=user.login,
        identities=identities,
        window=window,
        token=token,
        deadline=deadline,
    )
    if passing := [s for s in scans if s.transient is not None]:
        # The repos scanned so far are kept, so the retry scans only the others.
        _scans_keep(user_id=user_id, scans=scans, window=window)
        raise passing[0].transient
    return _store(
        user_id=user_id,
        scans=scans,
        identities=identities,
        window=window,
        user_cap_left_out=user_cap_left_out,
        seconds=time.monotonic() - started,
    )


def _row_days(scan: RepoScan, window: tuple[date, date]) -> dict[str, list[str]]:
    lo = window[0].isoformat()
    days: dict[str, set[str]] = {}
    if scan.incremental and scan.row is not None:
        for day, langs in (scan.row.days or {}).items():
            if day >= lo:
                days.setdefault(day, set()).update(langs)
    for day, langs in scan.days.items():
        days.setdefault(day, set()).update(langs)
    return {day: sorted(langs) for day, langs in sorted(days.items())}


_COUNTED = (ActivityRepo.Status.OK, ActivityRepo.Status.NO_LANGUAGES)


def _repo_row_values(scan: RepoScan, *, window: tuple[date, date], now: datetime) -> dict[str, Any]:
    """The repo's ActivityRepo columns after a scan (its days merged with the stored
    ones on an incremental scan)."""
    values: dict[str, Any] = {
        "full_name": scan.full_name,
        "status": scan.status,
        "error": scan.error,
        "heads": scan.heads,
        "scanned_at": now,
    }
    if scan.status not in _COUNTED:
        values.update(days={}, commits_counted=0, commits_left_out=0)
        return values
    newest_at, newest_sha = scan.newest_at, scan.newest_sha
    if (
        scan.row is not None
        and scan.row.newest_at
        and (newest_at is None or scan.row.newest_at > newest_at)
    ):
        newest_at, newest_sha = scan.row.newest_at, scan.row.newest_sha
    values.update(
        days=_row_days(scan, window),
        newest_at=newest_at,
        newest_sha=newest_sha,
        commits_counted=scan.counted
        + (scan.row.commits_counted if scan.row and scan.incremental else 0),
        commits_left_out=scan.left_out,
        clone_bytes=scan.clone_bytes,
    )
    return values


def _repo_row_write(*, user_id: int, scan: RepoScan, values: dict[str, Any]) -> None:
    if scan.row is not None:
        ActivityRepo.objects.filter(id=scan.row.id).update(**values)
    else:
        ActivityRepo.objects.create(user_id=user_id, **values)


def _repo_rows_store(
    *, user_id: int, scans: list[RepoScan], window: tuple[date, date], now: datetime
) -> dict[str, dict[str, list[str]]]:
    """Write each scanned repo's row (rows of repos no longer linked deleted); returns
    every counted repo's days, stored ones for repos not scanned this time."""
    keep = {s.full_name.lower() for s in scans}
    for row in ActivityRepo.objects.filter(user_id=user_id):
        if row.full_name.lower() not in keep:
            row.delete()
    repo_days: dict[str, dict[str, list[str]]] = {}
    for scan in scans:
        if scan.deferred or scan.unchanged:
            row = scan.row
            if row is not None and row.status in _COUNTED:
                repo_days[scan.full_name] = row.days
            continue
        values = _repo_row_values(scan, window=window, now=now)
        if scan.status in _COUNTED:
            repo_days[scan.full_name] = values["days"]
        _repo_row_write(user_id=user_id, scan=scan, values=values)
    return repo_days


def _scans_keep(*, user_id: int, scans: list[RepoScan], window: tuple[date, date]) -> None:
    """Keep the rows of the repos this attempt scanned, and no document: on the step's
    next attempt their heads match, so they are not cloned again."""
    now = timezone.now()
    with transaction.atomic():
        if not GitHubUser.objects.select_for_update(no_key=True).filter(id=user_id).exists():
            raise UserGone()
        for scan in scans:
            if not (scan.deferred or scan.unchanged):
                values = _repo_row_values(scan, window=window, now=now)
                _repo_row_write(user_id=user_id, scan=scan, values=values)


def _store(
    *,
    user_id: int,
    scans: list[RepoScan],
    identities: set[str],
    window: tuple[date, date],
    user_cap_left_out: int,
    seconds: float,
) -> dict[str, Any]:
    now = timezone.now()
    with transaction.atomic():
        if not GitHubUser.objects.select_for_update(no_key=True).filter(id=user_id).exists():
            raise UserGone()
        repo_days = _repo_rows_store(user_id=user_id, scans=scans, window=window, now=now)
        document = document_build(repo_days=repo_days, window_start=window[0], window_end=window[1])
        coverage = _coverage(
            scans=scans,
            window=window,
            now=now,
            user_cap_left_out=user_cap_left_out,
            identities=identities,
            seconds=seconds,
        )
        UserActivity.objects.update_or_create(
            user_id=user_id,
            defaults={
                "document": json.dumps(document, separators=(",", ":"), ensure_ascii=False),
                "coverage": coverage,
                "identities": sorted(identities),
                "window_start": window[0],
                "window_end": window[1],
                "active_days": len(document["days"]),
            },
        )
    logger.info(
        "activity.computed",
        extra={"user_id": user_id, "days": len(document["days"]), "repos": len(scans)},
    )
    return coverage


def _coverage(
    *,
    scans: list[RepoScan],
    window: tuple[date, date],
    now: datetime,
    user_cap_left_out: int,
    identities: set[str],
    seconds: float,
) -> dict[str, Any]:
    def named(status: str) -> list[dict[str, str]]:
        return [
            {"repo": s.full_name, "reason": s.error or status}
            for s in scans
            if s.status == status and not s.unchanged
        ] + [
            {"repo": s.full_name, "reason": (s.row.error if s.row else "") or status}
            for s in scans
            if s.unchanged and s.row is not None and s.row.status == status
        ]

    return {
        "computed_at": now.isoformat(),
        "window_start": window[0].isoformat(),
        "window_end": window[1].isoformat(),
        "repos": len(scans),
        "repos_scanned": sum(1 for s in scans if s.cloned),
        "repos_unchanged": sum(1 for s in scans if s.unchanged),
        "repos_without_languages": named(ActivityRepo.Status.NO_LANGUAGES),
        "repos_skipped": [
            {"repo": s.full_name, "reason": status}
            for status in (
                ActivityRepo.Status.EMPTY,
                ActivityRepo.Status.NOT_FOUND,
                ActivityRepo.Status.BLOCKED,
            )
            for s in scans
            if s.status == status
        ],
        "repos_deferred": [s.full_name for s in scans if s.deferred],
        "commits_counted": sum(s.counted for s in scans if not s.unchanged)
        + sum(s.row.commits_counted for s in scans if s.unchanged and s.row),
        "commits_left_out": {
            "per_repo_cap": sum(s.left_out for s in scans),
            "per_user_cap": user_cap_left_out,
        },
        "github_only_commits": sum(s.github_only for s in scans),
        "clone_bytes": sum(s.clone_bytes for s in scans),
        "author_identities": len(identities),
        "caps": {
            "branches": settings.ACTIVITY_BRANCHES_LIMIT,
            "commits_per_repo": settings.ACTIVITY_MAX_COMMITS_PER_REPO,
            "commits_per_user": settings.ACTIVITY_MAX_COMMITS_PER_USER,
            "clone_bytes": settings.ACTIVITY_MAX_CLONE_BYTES,
        },
        "seconds": round(seconds, 3),
    }


def user_activity_step(ctx) -> dict[str, Any]:
    """The `user_activity` pipeline step: compute, and record a summary as its output."""
    coverage = user_activity_compute(user_id=ctx.user.id, token=ctx.token)
    return {
        "repos": coverage["repos"],
        "repos_scanned": coverage["repos_scanned"],
        "repos_unchanged": coverage["repos_unchanged"],
        "repos_without_languages": len(coverage["repos_without_languages"]),
        "repos_skipped": len(coverage["repos_skipped"]),
        "repos_deferred": len(coverage["repos_deferred"]),
        "commits_counted": coverage["commits_counted"],
    }
