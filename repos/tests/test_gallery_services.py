"""Gallery services on the real database."""

import pytest

from repos import gallery
from repos.errors import ImageNotFound
from repos.models import GalleryImage, Repo, UserRepo
from users.models import GitHubUser

pytestmark = pytest.mark.django_db


@pytest.fixture
def repo():
    return Repo.objects.create(full_name="octo/cat", owner_login="octo", name="cat")


def img(url: str, **extra) -> dict:
    return {"url": url, **extra}


def urls(repo) -> list[str]:
    return list(GalleryImage.objects.filter(repo=repo).values_list("url", flat=True))


def test_images_add_by_url_skips_existing_and_batch_duplicates(repo):
    first = gallery.gallery_images_add(repo=repo, images=[img("https://e/a.png")])
    assert (first.added, first.skipped, first.gallery_count) == (1, 0, 1)
    second = gallery.gallery_images_add(
        repo=repo, images=[img("https://e/a.png"), img("https://e/b.png"), img("https://e/b.png")]
    )
    assert (second.added, second.skipped, second.gallery_count) == (1, 2, 2)
    assert urls(repo) == ["https://e/a.png", "https://e/b.png"]


def test_images_add_defaults(repo):
    gallery.gallery_images_add(repo=repo, images=[img("https://e/a.png")])
    image = GalleryImage.objects.get(repo=repo)
    assert image.original_url == "https://e/a.png"
    assert image.is_highlight is False
    assert image.taken_at > 1_700_000_000_000
    assert image.source == "api"


def test_images_add_by_original_url_skips_same_original(repo):
    gallery.gallery_images_add(
        repo=repo, images=[img("https://e/a.png", original_url="docs/a.png")]
    )
    result = gallery.gallery_images_add(
        repo=repo,
        images=[
            img("https://cdn/a.png", original_url="docs/a.png"),
            img("https://e/a.png", original_url="other"),
            img("https://e/c.png", original_url="docs/c.png"),
        ],
        dedupe="original_url",
    )
    assert (result.added, result.skipped, result.gallery_count) == (1, 2, 2)


def test_images_add_without_dedupe_replaces_same_url(repo):
    gallery.gallery_images_add(repo=repo, images=[img("https://e/a.png", title="old")])
    result = gallery.gallery_images_add(
        repo=repo,
        images=[img("https://e/a.png", title="new"), img("https://e/b.png")],
        dedupe=None,
    )
    assert (result.added, result.replaced, result.skipped, result.gallery_count) == (1, 1, 0, 2)
    assert GalleryImage.objects.get(repo=repo, url="https://e/a.png").title == "new"


def test_images_remove_and_update(repo):
    gallery.gallery_images_add(repo=repo, images=[img("https://e/a.png"), img("https://e/b.png")])
    assert gallery.gallery_images_remove(repo=repo, urls=["https://e/a.png", "https://e/x"]) == (
        1,
        1,
    )
    image = gallery.gallery_image_update(
        repo=repo, url="https://e/b.png", changes={"title": "T", "is_highlight": True}
    )
    assert (image.title, image.is_highlight) == ("T", True)
    with pytest.raises(ImageNotFound):
        gallery.gallery_image_update(repo=repo, url="https://e/a.png", changes={"title": "x"})


def test_user_repo_link_manual_keeps_existing_reason(repo):
    user = GitHubUser.objects.create(login="Alice")
    other = Repo.objects.create(full_name="octo/dog", owner_login="octo", name="dog")
    UserRepo.objects.create(user=user, repo=other, include_reason="owned")
    assert gallery.user_repo_link_manual(user_id=user.id, repo=repo) is True
    assert gallery.user_repo_link_manual(user_id=user.id, repo=repo) is False
    assert gallery.user_repo_link_manual(user_id=user.id, repo=other) is False
    reasons = dict(UserRepo.objects.filter(user=user).values_list("repo__name", "include_reason"))
    assert reasons == {"cat": "manual", "dog": "owned"}
