"""Constraints that keep the data honest under concurrent writers."""

import pytest
from django.db import IntegrityError, transaction

from repos.models import GalleryImage, Repo, UserRepo
from stargazers.models import StarEdge
from users.models import GitHubUser, PipelineRun, WorkItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def repo():
    return Repo.objects.create(full_name="octo/hello", owner_login="octo", name="hello")


@pytest.fixture
def octocat():
    return GitHubUser.objects.create(login="octocat", state=GitHubUser.State.ACTIVE)


def test_duplicate_star_edge_is_rejected(repo, octocat):
    StarEdge.objects.create(repo=repo, user=octocat, source=StarEdge.Source.STARRED)
    with pytest.raises(IntegrityError), transaction.atomic():
        StarEdge.objects.create(repo=repo, user=octocat, source=StarEdge.Source.STARGAZERS)


def test_duplicate_star_edge_bulk_insert_ignores_conflicts(repo, octocat):
    StarEdge.objects.create(repo=repo, user=octocat, source=StarEdge.Source.STARRED)
    StarEdge.objects.bulk_create(
        [StarEdge(repo=repo, user=octocat, source=StarEdge.Source.STARGAZERS)],
        ignore_conflicts=True,
    )
    assert StarEdge.objects.get().source == StarEdge.Source.STARRED


def test_duplicate_gallery_url_is_rejected(repo):
    GalleryImage.objects.create(repo=repo, url="https://img.example/a.png")
    with pytest.raises(IntegrityError), transaction.atomic():
        GalleryImage.objects.create(repo=repo, url="https://img.example/a.png")


def test_same_gallery_url_on_two_repos_is_allowed(repo):
    other = Repo.objects.create(full_name="octo/other", owner_login="octo", name="other")
    GalleryImage.objects.create(repo=repo, url="https://img.example/a.png")
    GalleryImage.objects.create(repo=other, url="https://img.example/a.png")
    assert GalleryImage.objects.count() == 2


def test_login_is_unique_ignoring_case(octocat):
    with pytest.raises(IntegrityError), transaction.atomic():
        GitHubUser.objects.create(login="OctoCat")


def test_repo_full_name_is_unique_ignoring_case(repo):
    with pytest.raises(IntegrityError), transaction.atomic():
        Repo.objects.create(full_name="Octo/Hello", owner_login="Octo", name="Hello")


def test_one_active_pipeline_run_per_user(octocat):
    PipelineRun.objects.create(user=octocat, trigger=PipelineRun.Trigger.LOGIN)
    with pytest.raises(IntegrityError), transaction.atomic():
        PipelineRun.objects.create(user=octocat, trigger=PipelineRun.Trigger.START)
    PipelineRun.objects.update(status=PipelineRun.Status.SUCCEEDED)
    PipelineRun.objects.create(user=octocat, trigger=PipelineRun.Trigger.START)


def test_user_scoped_work_item_is_unique_despite_null_repo(octocat):
    WorkItem.objects.create(user=octocat, step="fetch_profile")
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkItem.objects.create(user=octocat, step="fetch_profile")


def test_highlight_rank_is_unique_per_user(octocat, repo):
    other = Repo.objects.create(full_name="octo/other", owner_login="octo", name="other")
    UserRepo.objects.create(user=octocat, repo=repo, include_reason="owned", highlight_rank=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        UserRepo.objects.create(user=octocat, repo=other, include_reason="owned", highlight_rank=1)
