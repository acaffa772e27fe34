"""README media → gallery, compared exactly with the simulator's README truth."""

from __future__ import annotations

import pytest
from django.conf import settings

from repos import gallery
from repos.models import GalleryImage, Repo
from repos.services import repos_upsert_from_github

pytestmark = pytest.mark.django_db

# A server token of our own: its own 5,000-request budget in the simulator, so this
# module never depends on what other tests left of the shared unauthenticated one.
TOKEN = "gazer-gallery-tests"


@pytest.fixture(autouse=True)
def _server_token(settings):
    settings.GITHUB_TOKENS = [TOKEN]


@pytest.fixture(scope="module")
def world(simulator) -> dict[str, dict]:
    """World repos picked by what their README holds (names differ between simulator seeds)."""
    from workers.github import github

    picked: dict[str, dict] = {}
    for login in ("avery-lin", "bram-okafor"):
        for payload in github().user_repos(login, limit=100, token=TOKEN):
            truth = simulator.truth(
                f"repos/{payload['full_name']}/readme-images", web_url=simulator.web_url
            )
            images = truth["images"]
            kinds = {image["kind"] for image in images}
            if payload["fork"] and len(images) > 10:
                picked.setdefault("rich_fork", payload)
            elif len(images) > 10 and any(i["markup"] == "html" for i in images):
                picked.setdefault("rich", payload)
            elif "absolute" in kinds and len(images) < 10:
                picked.setdefault("images", payload)
            elif payload["default_branch"] not in ("main", "master") and images:
                picked.setdefault("other_branch", payload)
            elif not truth["has_readme"]:
                picked.setdefault("no_readme", payload)
    assert set(picked) == {"rich", "rich_fork", "images", "other_branch", "no_readme"}, picked
    return picked


def _stored(payload: dict) -> Repo:
    return repos_upsert_from_github(payloads=[payload])[payload["full_name"].lower()]


def _truth(simulator, repo: Repo) -> list[dict]:
    return simulator.truth(
        f"repos/{repo.full_name}/readme-images", web_url=settings.GITHUB_WEB_URL
    )["images"]


def _gallery(repo: Repo) -> list[tuple]:
    return sorted(
        GalleryImage.objects.filter(repo=repo).values_list(
            "url", "alt", "original_url", "width", "height", "is_highlight", "source"
        )
    )


def _expected(truth: list[dict]) -> list[tuple]:
    return sorted(
        (i["resolved_url"], i["alt"], i["src"], i["width"], i["height"], True, "readme")
        for i in truth
        if i["keep"]
    )


@pytest.mark.parametrize("which", ["rich", "rich_fork", "images", "other_branch", "no_readme"])
def test_readme_media_collect_matches_simulator_truth(simulator, world, which):
    repo = _stored(world[which])
    truth = _truth(simulator, repo)
    output = gallery.readme_media_collect(repo_id=repo.pk)
    assert _gallery(repo) == _expected(truth)
    kept = sum(1 for i in truth if i["keep"])
    assert output["added"] == output["kept"] == output["gallery_count"] == kept
    assert output["candidates"] == len(truth)
    dropped = output["dropped"]
    for reason in ("badge", "video", "too_small", "aspect", "unreachable"):
        assert dropped[reason] == sum(1 for i in truth if i["drop_reason"] == reason), reason


def test_rich_readme_resolves_parent_dir_and_inline_html(simulator, world):
    repo = _stored(world["rich"])
    truth = _truth(simulator, repo)
    dotdot = next(i for i in truth if i["src"].startswith("../"))
    html_kept = [i for i in truth if i["markup"] == "html" and i["keep"]]
    assert dotdot["keep"] and html_kept
    gallery.readme_media_collect(repo_id=repo.pk)
    urls = set(GalleryImage.objects.filter(repo=repo).values_list("url", flat=True))
    assert dotdot["resolved_url"] in urls
    assert {i["resolved_url"] for i in html_kept} <= urls
    taken = set(GalleryImage.objects.filter(repo=repo).values_list("taken_at", flat=True))
    assert len(taken) == 1 and taken.pop() > 1_700_000_000_000


def test_second_run_adds_nothing_and_removes_nothing(simulator, world):
    repo = _stored(world["rich"])
    manual = GalleryImage.objects.create(
        repo=repo, url="https://example.com/manual.png", original_url="x", source="api"
    )
    first = gallery.readme_media_collect(repo_id=repo.pk)
    before = _gallery(repo)
    ids_before = set(GalleryImage.objects.filter(repo=repo).values_list("id", flat=True))
    second = gallery.readme_media_collect(repo_id=repo.pk)
    assert first["added"] > 0
    assert second["added"] == 0
    assert second["gallery_count"] == first["gallery_count"] == len(before)
    assert _gallery(repo) == before
    assert set(GalleryImage.objects.filter(repo=repo).values_list("id", flat=True)) == ids_before
    assert GalleryImage.objects.filter(pk=manual.pk).exists()


def test_readme_media_collect_reports_link_from_homepage(simulator, world):
    repo = _stored(world["images"])
    output = gallery.readme_media_collect(repo_id=repo.pk)
    homepage = (world["images"].get("homepage") or "").strip()
    if not homepage:
        assert output["link"] is None
    else:
        assert output["link"].startswith(("http://", "https://"))
