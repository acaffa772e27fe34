"""Reads on repositories: the one repo lookup, and reads for the pipeline and endpoints."""

from __future__ import annotations

from django.db.models import F, Prefetch
from django.db.models.functions import Coalesce, Lower

from repos.errors import InvalidRepoName, RepoNotFound
from repos.models import GalleryImage, Repo, UserRepo
from repos.serializers import GalleryImageOut
from workers.github.names import repo_name_valid, username_valid


def repo_name_validate(*, owner: str, name: str) -> str:
    """`owner/name` when both parts follow GitHub's rules (owners are user logins);
    InvalidRepoName (400, `invalid_repo_name`) otherwise."""
    if not username_valid(owner):
        raise InvalidRepoName("Invalid repository owner.", details={"owner": owner})
    if not repo_name_valid(name):
        raise InvalidRepoName(details={"repo": name})
    return f"{owner}/{name}"


def repo_get(*, full_name: str) -> Repo:
    """The repo Gazer holds under this name (any capitalisation); RepoNotFound (404)."""
    # lower(full_name) = lower(x) uses the case-insensitive unique index
    # (repo_full_name_ci_unique); iexact (UPPER) would scan every repo.
    repo = (
        Repo.objects.alias(full_name_lower=Lower("full_name"))
        .filter(full_name_lower=full_name.lower())
        .first()
    )
    if repo is None:
        raise RepoNotFound(f"No repository '{full_name}' in Gazer.", details={"repo": full_name})
    return repo


def user_highlight_ids(*, user_id: int) -> dict[str, int]:
    """The user's highlighted repos in rank order: lower-cased full name → repo id."""
    rows = (
        UserRepo.objects.filter(user_id=user_id, highlight_rank__isnull=False)
        .order_by("highlight_rank")
        .values_list("repo__full_name", "repo_id")
    )
    return {full_name.lower(): repo_id for full_name, repo_id in rows}


def user_links_list(*, user_id: int) -> list[UserRepo]:
    """The user's links with their repos, most recently pushed first (pushed_at, else
    GitHub's updated_at), then by name."""
    return list(
        UserRepo.objects.filter(user_id=user_id)
        .select_related("repo")
        .annotate(recency=Coalesce("repo__pushed_at", "repo__github_updated_at"))
        .order_by(F("recency").desc(nulls_last=True), "repo__full_name")
    )


def highlight_resolve(*, user_login: str, links: list[UserRepo], names: list[str]) -> list[int]:
    """Map the names an LLM (or fallback) chose to the user's linked repo ids, in order.

    Several linked repos can share a name (a fork and its upstream). The tie-break:
    most commit days (unknown counts as -1), then a repo owned by someone else (the
    original), then the most recently updated row. `owner/name` answers match exactly.
    """
    by_name: dict[str, list[UserRepo]] = {}
    by_full: dict[str, UserRepo] = {}
    for link in links:
        by_name.setdefault(link.repo.name.lower(), []).append(link)
        by_full[link.repo.full_name.lower()] = link
    chosen: list[int] = []
    for raw in names:
        name = (raw or "").strip().strip("`").strip()
        if not name:
            continue
        key = name.lower()
        candidates = [by_full[key]] if key in by_full else by_name.get(key.rsplit("/", 1)[-1], [])
        if not candidates:
            continue
        best = max(
            candidates,
            key=lambda link: (
                link.commit_days if link.commit_days is not None else -1,
                link.repo.owner_login.lower() != user_login.lower(),
                link.repo.updated_at.timestamp() if link.repo.updated_at else 0.0,
            ),
        )
        if best.repo_id not in chosen:
            chosen.append(best.repo_id)
    return chosen


def gallery_images(*, repo: Repo) -> list[GalleryImage]:
    """The repo's gallery in insertion order."""
    return list(GalleryImage.objects.filter(repo=repo).order_by("id"))


def repo_payload(repo: Repo, *, include_reason: str = "", commit_days: int | None = None) -> dict:
    """A repo as the data endpoint shows it (field names clients of /data read, so fixed:
    `id` is the full name, `generated_description` repeats `blurb`)."""
    return {
        "id": repo.full_name,
        "full_name": repo.full_name,
        "owner": repo.owner_login,
        "name": repo.name,
        "description": repo.description,
        "language": repo.language or None,
        "stargazers_count": repo.stargazers_count,
        "fork": repo.is_fork,
        "archived": repo.is_archived,
        "topics": repo.topics,
        "homepage": repo.homepage or None,
        "pushed_at": repo.pushed_at.isoformat() if repo.pushed_at else None,
        "updated_at": repo.github_updated_at.isoformat() if repo.github_updated_at else None,
        "include_reason": include_reason,
        "user_commit_days": commit_days,
        "generated_description": repo.blurb,
        "blurb": repo.blurb,
        "emphasis": repo.emphasis,
        "keywords": repo.keywords,
        "kind": repo.kind,
        "link": repo.link or None,
        "gallery": GalleryImageOut(repo.gallery.all(), many=True).data,
        "enriched_at": repo.enriched_at.isoformat() if repo.enriched_at else None,
    }


def user_repos_payload(*, user_id: int) -> tuple[list[dict], list[dict]]:
    """(highlighted repos in rank order, all linked repos by pushed_at desc) for /data."""
    links = list(
        UserRepo.objects.filter(user_id=user_id)
        .select_related("repo")
        .prefetch_related(Prefetch("repo__gallery", queryset=GalleryImage.objects.order_by("id")))
        .annotate(recency=Coalesce("repo__pushed_at", "repo__github_updated_at"))
        .order_by(F("recency").desc(nulls_last=True), "repo__full_name")
    )
    rows = [
        repo_payload(link.repo, include_reason=link.include_reason, commit_days=link.commit_days)
        for link in links
    ]
    highlighted = sorted(
        (
            (link.highlight_rank, row)
            for link, row in zip(links, rows, strict=True)
            if link.highlight_rank
        ),
        key=lambda pair: pair[0],
    )
    return [row for _, row in highlighted], rows
