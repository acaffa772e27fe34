"""Writes on repositories and their links, on the real database."""

from __future__ import annotations

import itertools

import pytest
from django.apps import apps

from repos import services
from repos.models import GalleryImage, Repo, UserRepo
from repos.services import LinkSpec
from users.models import GitHubUser

pytestmark = pytest.mark.django_db

_ids = itertools.count(8_100_000)


def payload(full_name: str, **extra) -> dict:
    owner, name = full_name.split("/")
    return {
        "id": extra.pop("id", next(_ids)),
        "full_name": full_name,
        "name": name,
        "owner": {"login": owner},
        "language": "Python",
        "stargazers_count": 3,
        "pushed_at": "2026-10-01T12:00:00Z",
        **extra,
    }


def user(login: str) -> GitHubUser:
    return GitHubUser.objects.create(login=login, github_id=next(_ids), state="active")


def repo(full_name: str) -> Repo:
    owner, name = full_name.split("/")
    return Repo.objects.create(
        github_id=next(_ids), full_name=full_name, owner_login=owner, name=name
    )


# ------------------------------------------------------------------ repo_fields_from_github
def test_fields_from_github_fill_blanks_and_take_the_owner_from_the_name():
    fields = services.repo_fields_from_github(
        {"id": 7, "full_name": "octo/cat", "fork": True, "parent": {"full_name": "up/cat"}}
    )
    assert fields["owner_login"] == "octo" and fields["name"] == "cat"
    assert fields["description"] == "" and fields["language"] == "" and fields["topics"] == []
    assert fields["stargazers_count"] == 0 and fields["pushed_at"] is None
    assert fields["is_fork"] is True and fields["parent_full_name"] == "up/cat"
    assert fields["metadata_fetched_at"] is not None


# ------------------------------------------------------------------ repos_upsert_from_github
def test_upsert_inserts_then_refreshes_the_same_row_keyed_by_lower_name():
    first = services.repos_upsert_from_github(payloads=[payload("Octo/Cat", id=11)])
    assert list(first) == ["octo/cat"]
    again = services.repos_upsert_from_github(
        payloads=[payload("Octo/Cat", id=11, description="now described", stargazers_count=9)]
    )
    assert again["octo/cat"].pk == first["octo/cat"].pk
    row = Repo.objects.get(pk=first["octo/cat"].pk)
    assert (row.description, row.stargazers_count) == ("now described", 9)
    assert Repo.objects.count() == 1


def test_upsert_follows_a_rename_by_github_id():
    old = services.repos_upsert_from_github(payloads=[payload("octo/old-name", id=12)])
    new = services.repos_upsert_from_github(payloads=[payload("octo/new-name", id=12)])
    assert new["octo/new-name"].pk == old["octo/old-name"].pk
    assert list(Repo.objects.values_list("full_name", flat=True)) == ["octo/new-name"]


def test_upsert_of_nothing_writes_nothing():
    assert services.repos_upsert_from_github(payloads=[]) == {}
    assert not Repo.objects.exists()


# ------------------------------------------------------------------ user_repo_links_sync
def test_links_sync_makes_the_pipeline_links_exact_and_keeps_manual_ones():
    ada = user("ada")
    kept, dropped, manual, added = (repo(f"ada/r{n}") for n in range(4))
    UserRepo.objects.create(user=ada, repo=kept, include_reason="owned", commit_days=1)
    UserRepo.objects.create(user=ada, repo=dropped, include_reason="owned")
    UserRepo.objects.create(user=ada, repo=manual, include_reason=UserRepo.Reason.MANUAL)
    unlinked = services.user_repo_links_sync(
        user_id=ada.pk,
        links=[
            LinkSpec(repo_id=kept.pk, include_reason="contributed", commit_days=5),
            LinkSpec(repo_id=added.pk, include_reason="owned", commit_days=None),
        ],
    )
    assert unlinked == [dropped.pk]
    links = dict(UserRepo.objects.filter(user=ada).values_list("repo_id", "include_reason"))
    assert links == {kept.pk: "contributed", added.pk: "owned", manual.pk: "manual"}
    assert UserRepo.objects.get(user=ada, repo=kept).commit_days == 5


# ------------------------------------------------------------------ user_highlights_set
def test_highlights_set_ranks_in_order_once_and_unranks_the_rest():
    ada = user("ada")
    a, b, c = (repo(f"ada/h{n}") for n in range(3))
    stranger = repo("bob/not-linked")
    for r in (a, b, c):
        UserRepo.objects.create(user=ada, repo=r, include_reason="owned")
    services.user_highlights_set(user_id=ada.pk, repo_ids=[c.pk, a.pk])
    services.user_highlights_set(user_id=ada.pk, repo_ids=[b.pk, stranger.pk, b.pk, a.pk])
    ranks = dict(UserRepo.objects.filter(user=ada).values_list("repo_id", "highlight_rank"))
    # An unlinked id is skipped but still takes its place in the order.
    assert ranks == {b.pk: 1, a.pk: 3, c.pk: None}
    assert not UserRepo.objects.filter(repo=stranger).exists()


# ------------------------------------------------------------------ repos_delete_orphans
def test_delete_orphans_keeps_repos_linked_or_in_the_star_graph():
    ada, bob = user("ada"), user("bob")
    linked, starred, orphan = repo("x/linked"), repo("x/starred"), repo("x/orphan")
    UserRepo.objects.create(user=ada, repo=linked, include_reason="owned")
    # The star graph's model, reached by name: repos sits below stargazers.
    apps.get_model("stargazers", "StarEdge").objects.create(
        user=bob, repo=starred, source="starred"
    )
    GalleryImage.objects.create(repo=orphan, url="https://e/a.png", original_url="a.png")
    deleted = services.repos_delete_orphans(repo_ids=[linked.pk, starred.pk, orphan.pk])
    assert deleted >= 1
    assert set(Repo.objects.values_list("full_name", flat=True)) == {"x/linked", "x/starred"}
    assert not GalleryImage.objects.exists()
    assert services.repos_delete_orphans(repo_ids=[]) == 0


# ------------------------------------------------------------------ derived fields
def test_derived_update_writes_and_says_when_the_repo_is_gone():
    target = repo("x/derived")
    assert services.repo_derived_update(repo_id=target.pk, blurb="A blurb.", kind="library") == 1
    target.refresh_from_db()
    assert (target.blurb, target.kind) == ("A blurb.", "library")
    assert target.enriched_at is not None
    assert services.repo_derived_update(repo_id=target.pk + 10_000, blurb="x") == 0


def test_derived_clear_blanks_only_the_named_derived_fields():
    target = repo("x/clear")
    services.repo_derived_update(
        repo_id=target.pk, blurb="b", keywords=["k"], kind="tool", link="https://x.dev"
    )
    services.repo_derived_clear(repo_ids=[target.pk], fields=["blurb", "keywords", "name"])
    target.refresh_from_db()
    assert (target.blurb, target.keywords) == ("", [])
    assert (target.kind, target.link, target.name) == ("tool", "https://x.dev", "clear")
