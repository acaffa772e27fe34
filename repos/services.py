"""Writes on repositories and their links to users (the user pipeline's side of repos)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from repos.models import Repo, UserRepo
from workers.timestamps import timestamp_parse as _dt

logger = logging.getLogger(__name__)

# Fields refreshed from a GitHub repository payload (list or single-repo answers).
_GITHUB_FIELDS = (
    "github_id",
    "full_name",
    "owner_login",
    "name",
    "description",
    "language",
    "topics",
    "homepage",
    "default_branch",
    "stargazers_count",
    "forks_count",
    "is_fork",
    "is_archived",
    "is_private",
    "github_created_at",
    "github_updated_at",
    "pushed_at",
    "metadata_fetched_at",
)


def repo_fields_from_github(payload: dict[str, Any]) -> dict[str, Any]:
    """Our column values for one GitHub repository payload."""
    full_name = payload["full_name"]
    owner = (payload.get("owner") or {}).get("login") or full_name.split("/", 1)[0]
    fields: dict[str, Any] = {
        "github_id": payload.get("id"),
        "full_name": full_name,
        "owner_login": owner[:39],
        "name": payload.get("name") or full_name.split("/", 1)[1],
        "description": payload.get("description") or "",
        "language": payload.get("language") or "",
        "topics": list(payload.get("topics") or []),
        "homepage": (payload.get("homepage") or "")[:500],
        "default_branch": payload.get("default_branch") or "",
        "stargazers_count": int(payload.get("stargazers_count") or 0),
        "forks_count": int(payload.get("forks_count") or 0),
        "is_fork": bool(payload.get("fork")),
        "is_archived": bool(payload.get("archived")),
        "is_private": bool(payload.get("private")),
        "github_created_at": _dt(payload.get("created_at")),
        "github_updated_at": _dt(payload.get("updated_at")),
        "pushed_at": _dt(payload.get("pushed_at")),
        "metadata_fetched_at": timezone.now(),
    }
    parent = payload.get("parent") or {}
    if parent.get("full_name"):
        fields["parent_full_name"] = parent["full_name"]
    return fields


def repos_upsert_from_github(*, payloads: Iterable[dict[str, Any]]) -> dict[str, Repo]:
    """Insert or refresh repositories from GitHub payloads; returns them by lower full_name.

    Bulk statements only: one INSERT … ON CONFLICT DO NOTHING (two pipelines may create
    the same contributed repo at once), one locking SELECT, one bulk UPDATE. The rows stay
    locked until the caller's transaction ends, so a concurrent orphan cleanup (user
    deletion) cannot delete a repo this transaction is about to link.
    """
    rows: dict[str, dict[str, Any]] = {}
    for payload in payloads:
        fields = repo_fields_from_github(payload)
        rows[fields["full_name"].lower()] = fields
    if not rows:
        return {}
    with transaction.atomic():
        Repo.objects.bulk_create(
            [Repo(**fields) for fields in rows.values()], ignore_conflicts=True
        )
        ids = [f["github_id"] for f in rows.values() if f["github_id"] is not None]
        found = list(
            Repo.objects.select_for_update()
            .annotate(lname=Lower("full_name"))
            .filter(Q(lname__in=list(rows)) | Q(github_id__in=ids))
            .order_by("id")
        )
        by_github_id = {f["github_id"]: key for key, f in rows.items() if f["github_id"]}
        out: dict[str, Repo] = {}
        changed_fields = set(_GITHUB_FIELDS)
        for repo in found:
            key = repo.full_name.lower()
            if key not in rows:
                # Renamed on GitHub: same id, new name.
                key = by_github_id.get(repo.github_id, "")
                if not key or key in out:
                    continue
            for name, value in rows[key].items():
                setattr(repo, name, value)
                changed_fields.add(name)
            out[key] = repo
        if out:
            Repo.objects.bulk_update(list(out.values()), sorted(changed_fields), batch_size=200)
    return out


@dataclass(frozen=True)
class LinkSpec:
    repo_id: int
    include_reason: str
    commit_days: int | None


def user_repo_links_sync(*, user_id: int, links: list[LinkSpec]) -> list[int]:
    """Make the pipeline's links of a user exactly `links` (manual links are kept).

    Returns the ids of repos that were unlinked (the caller removes those left orphaned).
    Runs inside the caller's transaction, which holds the user row lock.
    """
    wanted = {link.repo_id: link for link in links}
    UserRepo.objects.bulk_create(
        [
            UserRepo(
                user_id=user_id,
                repo_id=link.repo_id,
                include_reason=link.include_reason,
                commit_days=link.commit_days,
            )
            for link in wanted.values()
        ],
        update_conflicts=True,
        unique_fields=["user", "repo"],
        update_fields=["include_reason", "commit_days", "updated_at"],
    )
    stale = UserRepo.objects.filter(user_id=user_id).exclude(repo_id__in=list(wanted))
    stale = stale.exclude(include_reason=UserRepo.Reason.MANUAL)
    stale_ids = list(stale.values_list("repo_id", flat=True))
    if stale_ids:
        UserRepo.objects.filter(user_id=user_id, repo_id__in=stale_ids).delete()
    return stale_ids


def user_highlights_set(*, user_id: int, repo_ids: list[int]) -> None:
    """Rank the user's highlighted repos 1..n (in the given order); others lose their rank."""
    UserRepo.objects.filter(user_id=user_id, highlight_rank__isnull=False).update(
        highlight_rank=None
    )
    links = {
        link.repo_id: link
        for link in UserRepo.objects.filter(user_id=user_id, repo_id__in=repo_ids)
    }
    ranked = []
    for rank, repo_id in enumerate(dict.fromkeys(repo_ids), start=1):
        link = links.get(repo_id)
        if link is not None:
            link.highlight_rank = rank
            ranked.append(link)
    if ranked:
        UserRepo.objects.bulk_update(ranked, ["highlight_rank"])


def repos_delete_orphans(*, repo_ids: Iterable[int]) -> int:
    """Delete those of `repo_ids` that no user links to and the star graph does not hold
    (with their galleries).

    The candidate rows are locked first (in id order, like the upsert), and the orphan
    check is a later statement, so it sees links committed by a pipeline that held them.
    """
    ids = sorted(set(repo_ids))
    if not ids:
        return 0
    with transaction.atomic():
        list(Repo.objects.select_for_update().filter(id__in=ids).order_by("id").values("id"))
        # Still somebody's: linked to another user, or part of the star graph.
        orphans = (
            Repo.objects.filter(id__in=ids)
            .exclude(id__in=UserRepo.objects.filter(repo_id__in=ids).values("repo_id"))
            .filter(star_edges__isnull=True, stargazer_crawl__isnull=True)
        )
        deleted, _ = orphans.delete()
    return deleted


def repo_derived_clear(*, repo_ids: Iterable[int], fields: Iterable[str]) -> None:
    """Blank pipeline-derived fields (blurb, emphasis, …) of the given repos."""
    blanks = {"blurb": "", "emphasis": [], "keywords": [], "kind": "", "link": ""}
    values = {name: blanks[name] for name in fields if name in blanks}
    ids = list(set(repo_ids))
    if ids and values:
        Repo.objects.filter(id__in=ids).update(**values, updated_at=timezone.now())


def repo_derived_update(*, repo_id: int, **values: Any) -> int:
    """Write pipeline-derived fields of one repo; 0 when the repo is gone (deleted meanwhile)."""
    return Repo.objects.filter(id=repo_id).update(
        **values, enriched_at=timezone.now(), updated_at=timezone.now()
    )
