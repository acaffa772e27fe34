"""Repository galleries: README media collection and manual gallery edits.

Writes (services); the reads are in repos.selectors. Every write to one repo's
gallery locks that repo's row first, so concurrent adds count `added`/`skipped` exactly
and never race on the (repo, url) unique constraint.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from repos import media
from repos.enrichment import homepage_link
from repos.errors import GitHubUnavailable, ImageNotFound, RepoNotFound
from repos.models import GalleryImage, Repo, UserRepo
from repos.selectors import repo_get
from repos.services import repos_upsert_from_github
from workers.github import errors as gh_errors
from workers.github import github
from workers.github.media import MediaRefused, probe_image

logger = logging.getLogger(__name__)

Dedupe = Literal["url", "original_url"] | None

PROBE_THREADS = 4  # small, so a README cannot flood a host
# A README with hundreds of images (icon grids, sponsor walls) would keep the step busy
# for minutes; the first ones are what the project chose to show first.
MAX_PROBES = 60
UPDATABLE_FIELDS = ("alt", "original_url", "title", "caption", "is_highlight", "taken_at")


def now_ms() -> int:
    return int(time.time() * 1000)


# --- lookups shared by the gallery API ---------------------------------------------------


def repo_get_or_fetch(*, full_name: str, token: str | None = None) -> Repo:
    """The repo from Gazer, else looked up on GitHub and stored; 404 when GitHub has none."""
    try:
        return repo_get(full_name=full_name)
    except RepoNotFound:
        pass
    try:
        payload = github().repo(full_name, token=token)
    except gh_errors.NotFound as exc:
        raise RepoNotFound(
            f"GitHub has no repository '{full_name}'.", details={"repo": full_name}
        ) from exc
    except gh_errors.GitHubError as exc:
        logger.warning(
            "gallery.repo_lookup_failed",
            extra={"full_name": full_name, "error": type(exc).__name__},
        )
        details = {"repo": full_name, "reason": type(exc).__name__}
        if isinstance(exc, gh_errors.RateLimited):
            details["retry_at"] = exc.reset_at.isoformat()
        raise GitHubUnavailable(details=details) from exc
    stored = repos_upsert_from_github(payloads=[payload])
    return stored.get(payload["full_name"].lower()) or repo_get(full_name=payload["full_name"])


# --- writes ------------------------------------------------------------------------------


@dataclass
class GalleryAddResult:
    added: int
    skipped: int
    replaced: int
    gallery_count: int


def _image_row(repo: Repo, item: dict[str, Any], *, source: str) -> GalleryImage:
    url = item["url"]
    return GalleryImage(
        repo=repo,
        url=url,
        original_url=item.get("original_url") or url,
        alt=item.get("alt") or "",
        title=item.get("title") or "",
        caption=item.get("caption") or "",
        is_highlight=bool(item.get("is_highlight", False)),
        taken_at=item["taken_at"] if item.get("taken_at") is not None else now_ms(),
        width=item.get("width"),
        height=item.get("height"),
        source=source,
    )


def _rows_replace(rows: list[GalleryImage], seen_urls: set[str]) -> tuple[int, int, int]:
    """dedupe=None: every row written, an existing URL's entry replaced; (added,
    skipped, replaced)."""
    last_by_url = {row.url: row for row in rows}  # one statement cannot hit a row twice
    skipped = len(rows) - len(last_by_url)
    batch = list(last_by_url.values())
    replaced = sum(1 for row in batch if row.url in seen_urls)
    if batch:
        GalleryImage.objects.bulk_create(
            batch,
            update_conflicts=True,
            unique_fields=["repo", "url"],
            update_fields=[*UPDATABLE_FIELDS, "width", "height", "source"],
        )
    return len(batch) - replaced, skipped, replaced


def _rows_append(
    rows: list[GalleryImage], dedupe: Dedupe, seen_urls: set[str], seen_originals: set[str]
) -> tuple[int, int]:
    """Rows whose URL (or original URL) is new appended, the rest skipped; (added,
    skipped)."""
    new: list[GalleryImage] = []
    skipped = 0
    for row in rows:
        duplicate = row.url in seen_urls or (
            dedupe == "original_url" and row.original_url in seen_originals
        )
        if duplicate:
            skipped += 1
            continue
        seen_urls.add(row.url)
        seen_originals.add(row.original_url)
        new.append(row)
    GalleryImage.objects.bulk_create(new, ignore_conflicts=True)
    return len(new), skipped


def gallery_images_add(
    *,
    repo: Repo,
    images: Iterable[dict[str, Any]],
    dedupe: Dedupe = "url",
    source: str = "api",
) -> GalleryAddResult:
    """Append images to a repo's gallery; existing images are never removed.

    dedupe="url": an image whose URL is already there (or earlier in the batch) is
    skipped. "original_url": skipped when its original_url is already there. None: no
    skipping; since the gallery keeps one entry per URL, an image whose URL is already
    there replaces that entry's fields (counted in `replaced`).
    """
    rows = [_image_row(repo, item, source=source) for item in images]
    with transaction.atomic():
        # Serialises writers of this gallery, so the counts below are exact.
        Repo.objects.select_for_update().filter(pk=repo.pk).first()
        match = Q(url__in={row.url for row in rows})
        if dedupe == "original_url":
            match |= Q(original_url__in={row.original_url for row in rows})
        present = list(
            GalleryImage.objects.filter(repo=repo).filter(match).values_list("url", "original_url")
        )
        seen_urls = {url for url, _ in present}
        if dedupe is None:
            added, skipped, replaced = _rows_replace(rows, seen_urls)
        else:
            seen_originals = {original for _, original in present}
            added, skipped = _rows_append(rows, dedupe, seen_urls, seen_originals)
            replaced = 0
        count = GalleryImage.objects.filter(repo=repo).count()
    logger.info(
        "gallery.images_added",
        extra={"repo_id": repo.pk, "added": added, "skipped": skipped, "source": source},
    )
    return GalleryAddResult(added=added, skipped=skipped, replaced=replaced, gallery_count=count)


def gallery_images_remove(*, repo: Repo, urls: list[str]) -> tuple[int, int]:
    """Remove the images with these URLs; returns (removed, gallery_count)."""
    with transaction.atomic():
        Repo.objects.select_for_update().filter(pk=repo.pk).first()
        removed, _ = GalleryImage.objects.filter(repo=repo, url__in=set(urls)).delete()
        count = GalleryImage.objects.filter(repo=repo).count()
    logger.info("gallery.images_removed", extra={"repo_id": repo.pk, "removed": removed})
    return removed, count


def gallery_image_update(*, repo: Repo, url: str, changes: dict[str, Any]) -> GalleryImage:
    """Update fields of the image with this URL; ImageNotFound when there is none."""
    changes = {name: value for name, value in changes.items() if name in UPDATABLE_FIELDS}
    with transaction.atomic():
        image = GalleryImage.objects.select_for_update().filter(repo=repo, url=url).first()
        if image is None:
            raise ImageNotFound(details={"url": url})
        for name, value in changes.items():
            setattr(image, name, value)
        if changes:
            image.save(update_fields=list(changes))
    return image


def user_repo_link_manual(*, user_id: int, repo: Repo) -> bool:
    """Link the repo to the user ("manual"), keeping an existing link's reason."""
    _, created = UserRepo.objects.get_or_create(
        user_id=user_id, repo=repo, defaults={"include_reason": UserRepo.Reason.MANUAL}
    )
    return created


# --- README media ------------------------------------------------------------------------


@dataclass
class _Candidate:
    src: str
    alt: str
    url: str


def _probe(url: str) -> tuple[int, int] | None:
    try:
        info = probe_image(url)
    except MediaRefused as exc:
        logger.info("gallery.probe_refused", extra={"url": url, "reason": str(exc)})
        return None
    except Exception:  # one unreadable image must not fail the whole step
        logger.warning("gallery.probe_failed", extra={"url": url}, exc_info=True)
        return None
    return info.width, info.height


_DROP_REASONS = ("invalid", "badge", "video", "over_cap", "unreachable", "too_small", "aspect")


def _candidates_pick(
    found: list[media.ReadmeImage], *, full_name: str, branch: str, dropped: dict[str, int]
) -> list[_Candidate]:
    """The README's images worth probing: resolved, each URL once, badges and videos
    dropped, at most `MAX_PROBES` (what is dropped counted in `dropped`)."""
    candidates: list[_Candidate] = []
    seen: set[str] = set()
    for image in found:
        url = media.readme_src_resolve(
            image.src, web_url=settings.GITHUB_WEB_URL, full_name=full_name, branch=branch
        )
        if url is None or len(url) > media.MAX_URL_LENGTH:
            dropped["invalid"] += 1
            continue
        if url in seen:
            continue
        seen.add(url)
        if media.is_badge(url):
            dropped["badge"] += 1
        elif media.is_video(url):
            dropped["video"] += 1
        elif len(candidates) >= MAX_PROBES:
            dropped["over_cap"] += 1
        else:
            candidates.append(_Candidate(src=image.src, alt=image.alt, url=url))
    return candidates


def _candidates_probe(
    candidates: list[_Candidate], *, dropped: dict[str, int]
) -> list[dict[str, Any]]:
    """The candidates that are reachable images of a fitting size, as gallery images."""
    sizes: list[tuple[int, int] | None] = []
    if candidates:
        with ThreadPoolExecutor(max_workers=PROBE_THREADS) as pool:
            sizes = list(pool.map(_probe, [c.url for c in candidates]))
    taken_at = now_ms()
    kept: list[dict[str, Any]] = []
    for candidate, size in zip(candidates, sizes, strict=True):
        if size is None:
            dropped["unreachable"] += 1
            continue
        reason = media.size_fits(*size)
        if reason:
            dropped[reason] += 1
            continue
        kept.append(
            {
                "url": candidate.url,
                "original_url": candidate.src[: media.MAX_URL_LENGTH],
                "alt": candidate.alt[: media.MAX_ALT_LENGTH],
                "is_highlight": True,
                "taken_at": taken_at,
                "width": size[0],
                "height": size[1],
            }
        )
    return kept


def readme_media_collect(*, repo_id: int, token: str | None = None) -> dict:
    """Add the README's images to the repo's gallery (the pipeline's README-media step).

    Badges and videos are dropped before any download; the rest are probed (in a small
    thread pool) and kept when at least 400 px wide with an aspect ratio in 0.3-4.
    Existing images stay; URLs already in the gallery are not added twice. A repo whose
    README has no usable image gets no screenshot in its place: that needs paid external
    services.
    """
    repo = Repo.objects.get(pk=repo_id)
    gateway = github()
    link = repo.link or homepage_link(repo.homepage)
    branch = repo.default_branch
    if not branch:
        branch = gateway.repo(repo.full_name, token=token).get("default_branch") or "main"
        Repo.objects.filter(pk=repo.pk).update(default_branch=branch)
    markdown = gateway.readme(repo.full_name, token=token)
    found = media.readme_images_find(markdown) if markdown else []
    dropped = dict.fromkeys(_DROP_REASONS, 0)
    candidates = _candidates_pick(found, full_name=repo.full_name, branch=branch, dropped=dropped)
    kept = _candidates_probe(candidates, dropped=dropped)
    result = gallery_images_add(repo=repo, images=kept, dedupe="url", source="readme")
    output = {
        "link": link,
        "gallery_count": result.gallery_count,
        "added": result.added,
        "candidates": len(found),
        "kept": len(kept),
        "dropped": dropped,
    }
    logger.info("gallery.readme_media_collected", extra={"repo_id": repo.pk, **output})
    return output
