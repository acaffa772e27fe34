"""The GitHub-fetching steps: the profile, and the repos a profile is built from.

Of the 30 most recently pushed owned repos, those with a language pushed in the last two
years (forks only with at least 4 days of the user's commits); and other owners' public
repos the user contributed to in those two years, with a language and at least 4 commit
days.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from repos import services as repo_services
from repos.models import Repo, UserRepo
from users.identity import user_github_id_claim
from users.models import GitHubUser
from users.pipeline.graph import StepContext, StepFailed, locked_user
from workers.github import errors as gh_errors
from workers.github import github
from workers.timestamps import timestamp_parse as _parse_dt

logger = logging.getLogger(__name__)

# What a profile is built from.
OWNED_REPOS_LIMIT = 30
RECENT_DAYS = 2 * 365
MIN_COMMIT_DAYS = 4
BRANCHES_LIMIT = 10
COMMITS_PER_BRANCH = 100
CONTRIBUTION_WINDOW_DAYS = 365
CONTRIBUTED_CAP = 200


def fetch_profile(ctx: StepContext) -> dict[str, Any]:
    try:
        data = github().user(ctx.user.login, token=ctx.token)
    except gh_errors.NotFound:
        raise StepFailed("no such GitHub user", {"profile_found": False}) from None
    return profile_store(ctx, data)


def profile_store(ctx: StepContext, data: dict[str, Any]) -> dict[str, Any]:
    """Store a GitHub user's profile (REST's field names) on the user's row."""
    fields = {
        "name": (data.get("name") or "")[:255],
        "avatar_url": (data.get("avatar_url") or "")[:500],
        "html_url": (data.get("html_url") or "")[:500],
        "bio": data.get("bio") or "",
        "company": (data.get("company") or "")[:255],
        "location": (data.get("location") or "")[:255],
        "blog": (data.get("blog") or "")[:500],
        "public_repos": data.get("public_repos"),
        "followers": data.get("followers"),
        "github_created_at": _parse_dt(data.get("created_at")),
        "profile_fetched_at": timezone.now(),
        "updated_at": timezone.now(),
    }
    login = data.get("login") or ctx.user.login
    if login.lower() == ctx.user.login.lower():
        fields["login"] = login  # GitHub's capitalisation
    with locked_user(ctx.user.id):
        GitHubUser.objects.filter(id=ctx.user.id).update(**fields)
        github_id = data.get("id")
        if github_id:
            user_github_id_claim(user_id=ctx.user.id, github_id=github_id)
    # Fetching a profile never changes whether the user is a ghost: the state stays.
    return {"profile_found": True, "login": login, "public_repos": data.get("public_repos")}


# ------------------------------------------------------------------------------ repos
def _recent(payload: dict[str, Any], cutoff: datetime) -> bool:
    stamp = _parse_dt(payload.get("pushed_at") or payload.get("updated_at"))
    return stamp is None or stamp >= cutoff  # a repo with no timestamp counts as recent


def commit_days(full_name: str, login: str, *, default_branch: str, token: str | None) -> int:
    """Unique days with commits authored by `login`: default branch first, ≤ 10 branches,
    ≤ 100 commits each, all counted (no early stop at the threshold, so the tie-break sees
    real numbers)."""
    gw = github()
    try:
        branches = gw.branches(full_name, limit=BRANCHES_LIMIT, token=token)
    except (gh_errors.NotFound, gh_errors.EmptyRepository, gh_errors.Blocked):
        return 0
    names = [default_branch] if default_branch else []
    names += [b["name"] for b in branches if b.get("name") and b["name"] != default_branch]
    days: set[str] = set()
    for name in names[:BRANCHES_LIMIT]:
        try:
            commits = gw.commits(
                full_name, author=login, sha=name, limit=COMMITS_PER_BRANCH, token=token
            )
        except gh_errors.EmptyRepository:
            return 0
        except (gh_errors.NotFound, gh_errors.Blocked):
            continue
        for commit in commits:
            info = commit.get("commit") or {}
            stamp = (info.get("author") or {}).get("date") or (info.get("committer") or {}).get(
                "date"
            )
            if stamp:
                days.add(stamp[:10])
    return len(days)


def _payload_commit_days(payload: dict[str, Any], login: str, *, token: str | None) -> int:
    default_branch = payload.get("default_branch") or ""
    return commit_days(payload["full_name"], login, default_branch=default_branch, token=token)


def fetch_repos(ctx: StepContext) -> dict[str, Any]:
    gw = github()
    login = ctx.user.login
    now = datetime.now(UTC)
    cutoff = now - timedelta(days=RECENT_DAYS)
    owned = gw.user_repos(login, sort="pushed", limit=OWNED_REPOS_LIMIT, token=ctx.token)
    kept: list[tuple[dict, str, int]] = []
    seen = {p["full_name"].lower() for p in owned}
    for payload in owned[:OWNED_REPOS_LIMIT]:
        if not payload.get("language") or not _recent(payload, cutoff):
            continue
        days = _payload_commit_days(payload, login, token=ctx.token)
        if payload.get("fork"):
            if days >= MIN_COMMIT_DAYS:
                kept.append((payload, UserRepo.Reason.FORK_ACTIVE, days))
        else:
            kept.append((payload, UserRepo.Reason.OWNED, days))

    # Contributions to other owners' repos, in 365-day windows back two years.
    contributed: list[str] = []
    windows_failed = 0
    until = now
    while until > cutoff:
        since = max(cutoff, until - timedelta(days=CONTRIBUTION_WINDOW_DAYS))
        try:
            rows = gw.contributions(login, since=since, until=until, token=ctx.token)
        except (gh_errors.RateLimited, gh_errors.SecondaryRateLimited, gh_errors.Transient):
            raise
        except gh_errors.GitHubError as exc:
            # A window GitHub refuses is logged and counts as empty.
            logger.warning(
                "users.contributions_window_failed",
                extra={"user": login, "error": str(exc)[:200]},
            )
            windows_failed += 1
            rows = []
        for row in rows:
            full = row.get("full_name") or ""
            if not full or row.get("is_private") or "/" not in full:
                continue
            if full.split("/", 1)[0].lower() == login.lower() or full.lower() in seen:
                continue
            seen.add(full.lower())
            contributed.append(full)
        until = since
    contributed = contributed[:CONTRIBUTED_CAP]
    for full in contributed:
        try:
            payload = gw.repo(full, token=ctx.token)
        except (gh_errors.NotFound, gh_errors.Blocked):
            continue
        if payload.get("private") or not payload.get("language") or not _recent(payload, cutoff):
            continue
        days = _payload_commit_days(payload, login, token=ctx.token)
        if days >= MIN_COMMIT_DAYS:
            kept.append((payload, UserRepo.Reason.CONTRIBUTED, days))

    links = repo_links_store(ctx.user.id, kept)
    return fetch_repos_summary(
        kept, links, contribution_candidates=len(contributed), windows_failed=windows_failed
    )


def repo_links_store(
    user_id: int, kept: list[tuple[dict, str, int]], readme: dict[str, bool] | None = None
) -> list[repo_services.LinkSpec]:
    """Upsert the kept repos (payload, reason, commit days), link them to the user, drop
    the links (and orphaned repos) no longer kept; `readme` (lowercased full name →
    whether it has one) is noted when the fetch learnt it. Returns the links."""
    with locked_user(user_id):
        repos = repo_services.repos_upsert_from_github(payloads=[p for p, _, _ in kept])
        links = [
            repo_services.LinkSpec(
                repo_id=repos[p["full_name"].lower()].id, include_reason=why, commit_days=days
            )
            for p, why, days in kept
            if p["full_name"].lower() in repos
        ]
        if readme:
            noted = [repo for key, repo in repos.items() if key in readme]
            for repo in noted:
                repo.has_readme = readme[repo.full_name.lower()]
            Repo.objects.bulk_update(noted, ["has_readme"])
        unlinked = repo_services.user_repo_links_sync(user_id=user_id, links=links)
        repo_services.repos_delete_orphans(repo_ids=unlinked)
    return links


def fetch_repos_summary(
    kept: list[tuple[dict, str, int]],
    links: list,
    *,
    contribution_candidates: int,
    windows_failed: int,
) -> dict[str, Any]:
    """The fetch step's output: what it linked, by reason."""
    reasons = Counter(why for _, why, _ in kept)
    return {
        "fetched": len(links),
        "owned": reasons.get(UserRepo.Reason.OWNED, 0),
        "fork_active": reasons.get(UserRepo.Reason.FORK_ACTIVE, 0),
        "contributed": reasons.get(UserRepo.Reason.CONTRIBUTED, 0),
        "contribution_candidates": contribution_candidates,
        "contribution_windows_failed": windows_failed,
    }
