"""The GitHub-fetching steps over GraphQL, where it batches: the user, a page of owned
repositories with languages and topics, the repositories contributed to per year, and
per candidate repository (aliased, a point per dozen) README presence and the user's
commit days; the same rules and limits as the REST steps in `users.pipeline.fetch`.

`GITHUB_PROFILE_FETCH` picks the path ("graphql", else "rest"); without any token GraphQL
cannot be asked and REST is used. Refreshes stay on REST's conditional requests (a 304
costs nothing; GraphQL has no 304): a refreshing step does not come through here.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings

from repos.models import UserRepo
from users.pipeline import fetch as rest
from users.pipeline.graph import StepContext, StepFailed
from workers.github import errors as gh_errors
from workers.github import github
from workers.github import graphql as gq
from workers.timestamps import timestamp_parse

logger = logging.getLogger(__name__)

# Owned repositories per page: 1 + 70 + 70 requests stays a one-point query (≤ 149).
OWNED_PAGE = 70
OWNED_PAGES_MAX = 3  # enough for every repo pushed in the activity window of most users


def graphql_usable(ctx: StepContext) -> bool:
    return settings.GITHUB_PROFILE_FETCH == "graphql" and bool(ctx.token or github().tokens)


def fetch_profile_step(ctx: StepContext) -> dict[str, Any]:
    if graphql_usable(ctx):
        return fetch_profile(ctx)
    return rest.fetch_profile(ctx)


def fetch_repos_step(ctx: StepContext) -> dict[str, Any]:
    if graphql_usable(ctx):
        return fetch_repos(ctx)
    return rest.fetch_repos(ctx)


def fetch_profile(ctx: StepContext) -> dict[str, Any]:
    try:
        answer = gq.run(github(), gq.USER_QUERY, {"login": ctx.user.login}, token=ctx.token)
    except gh_errors.NotFound:
        raise StepFailed("no such GitHub user", {"profile_found": False}) from None
    data = answer.data.get("user") or {}
    # REST's names for the same fields: one place stores a profile, however it was read.
    stored = rest.profile_store(
        ctx,
        {
            "login": data.get("login"),
            "id": data.get("databaseId"),
            "name": data.get("name"),
            "avatar_url": data.get("avatarUrl"),
            "html_url": data.get("url"),
            "bio": data.get("bio"),
            "company": data.get("company"),
            "location": data.get("location"),
            "blog": data.get("websiteUrl"),
            "public_repos": (data.get("repositories") or {}).get("totalCount"),
            "followers": (data.get("followers") or {}).get("totalCount"),
            "created_at": data.get("createdAt"),
        },
    )
    return {**stored, "graphql_points": answer.cost}


def _owned(login: str, cutoff: datetime, token: str | None) -> tuple[list[dict], str, int]:
    """Owned repositories newest push first, pages until one reaches past `cutoff`;
    (payloads, the user's node id, points)."""
    gw = github()
    payloads: list[dict] = []
    after = None
    points = 0
    node_id = ""
    for _ in range(OWNED_PAGES_MAX):
        answer = gq.run(
            gw,
            gq.PROFILE_QUERY,
            {"login": login, "first": OWNED_PAGE, "after": after},
            token=token,
        )
        points += answer.cost
        user = answer.data.get("user") or {}
        node_id = user.get("id") or node_id
        page = user.get("repositories") or {}
        payloads += [gq.repo_payload(n) for n in page.get("nodes") or []]
        info = page.get("pageInfo") or {}
        oldest = timestamp_parse(payloads[-1]["pushed_at"]) if payloads else None
        if not info.get("hasNextPage") or (oldest is not None and oldest < cutoff):
            break
        after = info.get("endCursor")
    return payloads, node_id, points


def _contributed(login: str, since: datetime, until: datetime, token: str | None):
    """Other owners' repositories the user committed to or opened pull requests in, in
    windows of at most a year, newest first, asked together (one point); a window GitHub
    finds too heavy is asked alone. (commit repos, pull-request repos, windows failed,
    points)."""
    gw = github()
    windows = []
    end = until
    while end > since:
        start = max(since, end - timedelta(days=rest.CONTRIBUTION_WINDOW_DAYS))
        windows.append((start, end))
        end = start

    def ask(group: list[tuple[datetime, datetime]]) -> tuple[list[dict | None], int]:
        variables: dict[str, Any] = {"login": login}
        for n, (start, end) in enumerate(group):
            variables[f"from{n}"], variables[f"to{n}"] = _iso(start), _iso(end)
        answer = gq.run(gw, gq.contributed_query(len(group)), variables, token=token)
        user = answer.data.get("user") or {}
        return [user.get(f"w{n}") for n in range(len(group))], answer.cost

    points = 0
    try:
        collections, points = ask(windows)
    except (gh_errors.RateLimited, gh_errors.SecondaryRateLimited, gh_errors.Transient):
        raise
    except gh_errors.GitHubError:
        collections = [None] * len(windows)
    failed = 0
    for n, window in enumerate(windows):
        if collections[n] is not None:
            continue
        try:  # alone, when the windows together were too much
            alone, spent = ask([window])
            collections[n] = alone[0]
            points += spent
        except (gh_errors.RateLimited, gh_errors.SecondaryRateLimited, gh_errors.Transient):
            raise
        except gh_errors.GitHubError as exc:
            logger.warning(
                "users.contributions_window_failed", extra={"user": login, "error": str(exc)[:200]}
            )
        if collections[n] is None:
            failed += 1
    commits: list[str] = []
    prs: list[str] = []
    for collection in collections:
        for key, into in (
            ("commitContributionsByRepository", commits),
            ("pullRequestContributionsByRepository", prs),
        ):
            for entry in (collection or {}).get(key) or []:
                repo = entry.get("repository") or {}
                full = repo.get("nameWithOwner") or ""
                if full and "/" in full and not repo.get("isPrivate") and full not in into:
                    into.append(full)
    return commits, prs, failed, points


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _details(names: list[str], *, uid: str, metadata: bool, token: str | None):
    def build(part):
        query, variables = gq.repo_details_query(part, metadata=metadata)
        return query, {**variables, "uid": uid}

    return gq.batched(
        github(), names, build, chunk=gq.details_chunk(metadata=metadata), token=token
    )


def _owned_kept(
    owned: list[dict], *, cutoff: datetime, uid: str, readme: dict[str, bool], token: str | None
) -> tuple[list[tuple[dict, str, int]], int]:
    """The newest owned repos with a language, pushed in the recent window (forks only
    with enough commit days), as (payload, reason, commit days); README presence noted."""
    candidates = [
        p for p in owned[: rest.OWNED_REPOS_LIMIT] if p.get("language") and rest._recent(p, cutoff)
    ]
    found, points = _details(
        [p["full_name"] for p in candidates], uid=uid, metadata=False, token=token
    )
    kept: list[tuple[dict, str, int]] = []
    for i, payload in enumerate(candidates):
        node = found.get(i) or {}
        days = gq.commit_days_of(node)
        readme[payload["full_name"].lower()] = gq.has_readme(node)
        if payload.get("fork"):
            if days >= rest.MIN_COMMIT_DAYS:
                kept.append((payload, UserRepo.Reason.FORK_ACTIVE, days))
        else:
            kept.append((payload, UserRepo.Reason.OWNED, days))
    return kept, points


def _contribution_candidates(login: str, owned: list[dict], names: list[str]) -> list[str]:
    """Other owners' repos among `names`, once each, capped."""
    seen = {p["full_name"].lower() for p in owned}
    contributed: list[str] = []
    for full in names:
        if full.split("/", 1)[0].lower() == login.lower() or full.lower() in seen:
            continue
        seen.add(full.lower())
        contributed.append(full)
    return contributed[: rest.CONTRIBUTED_CAP]


def _contributed_kept(
    contributed: list[str],
    *,
    cutoff: datetime,
    uid: str,
    readme: dict[str, bool],
    token: str | None,
) -> tuple[list[tuple[dict, str, int]], int]:
    """The contributed repos that are public, have a language, were pushed recently and
    hold enough of the user's commit days; README presence noted."""
    found, points = _details(contributed, uid=uid, metadata=True, token=token)
    kept: list[tuple[dict, str, int]] = []
    for i in range(len(contributed)):
        node = found.get(i)
        if not node:
            continue  # gone or not visible
        payload = gq.repo_payload(node)
        if payload.get("private") or not payload.get("language"):
            continue
        if not rest._recent(payload, cutoff):
            continue
        days = gq.commit_days_of(node)
        readme[payload["full_name"].lower()] = gq.has_readme(node)
        if days >= rest.MIN_COMMIT_DAYS:
            kept.append((payload, UserRepo.Reason.CONTRIBUTED, days))
    return kept, points


def _committed_repos(owned: list[dict], commit_repos: list[str], *, now: datetime) -> list[dict]:
    """Every repo the user may have committed to in the activity window: owned ones
    pushed in it, and other owners' ones GitHub counts commits in."""
    window_start = now - timedelta(days=365 * settings.ACTIVITY_WINDOW_YEARS)
    return [
        {
            "full_name": p["full_name"],
            "default_branch": p.get("default_branch") or "",
            "languages": p.get("languages") or {},
        }
        for p in owned
        if rest._recent(p, window_start) and p.get("pushed_at")
    ] + [{"full_name": full, "default_branch": "", "languages": None} for full in commit_repos]


def fetch_repos(ctx: StepContext) -> dict[str, Any]:
    login = ctx.user.login
    now = datetime.now(UTC)
    cutoff = now - timedelta(days=rest.RECENT_DAYS)
    owned, uid, points = _owned(login, cutoff, ctx.token)
    readme: dict[str, bool] = {}
    kept, spent = _owned_kept(owned, cutoff=cutoff, uid=uid, readme=readme, token=ctx.token)
    points += spent
    # Contributions to other owners' repos, in one-year windows back two years.
    commit_repos, pr_repos, windows_failed, spent = _contributed(login, cutoff, now, ctx.token)
    points += spent
    contributed = _contribution_candidates(login, owned, commit_repos + pr_repos)
    more, spent = _contributed_kept(
        contributed, cutoff=cutoff, uid=uid, readme=readme, token=ctx.token
    )
    kept += more
    points += spent
    links = rest.repo_links_store(ctx.user.id, kept, readme)
    return {
        **rest.fetch_repos_summary(
            kept, links, contribution_candidates=len(contributed), windows_failed=windows_failed
        ),
        "committed_repos": _committed_repos(owned, commit_repos, now=now),
        "user_node_id": uid,
        "graphql_points": points,
    }
