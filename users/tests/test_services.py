"""Services of the user pipeline on real Postgres (no worker): accounts, runs, deletion."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from repos.models import Repo, UserRepo
from repos.selectors import highlight_resolve, user_links_list
from users import pipeline, selectors, services
from users.errors import InvalidUsername, UnknownStep, UserExists, UserNotFound
from users.models import GitHubUser, PipelineRun, WorkItem
from users.tokens import token_decrypt

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("login", ["a", "octocat", "Octo-Cat", "a1-b2-c3", "x" * 39, "0-0"])
def test_username_validate_github_rules_accepted(login):
    assert selectors.username_validate(login=login) == login


@pytest.mark.parametrize(
    "login", ["", "-a", "a-", "a--b", "x" * 40, "a_b", "a.b", "a b", "ü", "a/b"]
)
def test_username_validate_invalid_raises(login):
    with pytest.raises(InvalidUsername):
        selectors.username_validate(login=login)


def test_login_new_then_existing_then_ghost_activated(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = services.user_login(login="alice", github_token="sim_alice_secret")
    assert first.status == "new" and first.processing and not first.data_ready
    assert callbacks, "the coordinator is enqueued on commit"
    user = GitHubUser.objects.get(login="alice")
    assert user.state == "active"
    assert "sim_alice_secret" not in user.token_encrypted
    assert token_decrypt(user.token_encrypted) == "sim_alice_secret"
    # A second login joins the active run instead of starting another.
    second = services.user_login(login="ALICE")
    assert second.status == "existing" and second.run_id == first.run_id
    assert PipelineRun.objects.filter(user=user).count() == 1

    services.ghost_create(login="bob")
    assert GitHubUser.objects.get(login="bob").state == "ghost"
    activated = services.user_login(login="bob")
    assert activated.status == "activated"
    assert GitHubUser.objects.get(login="bob").state == "active"


def test_login_creates_user_steps_pending():
    result = services.user_login(login="carol")
    steps = set(WorkItem.objects.filter(user_id=result.user_id).values_list("step", "status"))
    assert steps == {(step, "pending") for step in pipeline.steps_of_scope("user")}


def test_ghost_existing_user_conflicts_unless_forced():
    services.user_login(login="dave")
    with pytest.raises(UserExists):
        services.ghost_create(login="dave")
    result = services.ghost_create(login="dave", force=True)
    assert not result.created
    assert GitHubUser.objects.get(login="dave").state == "ghost"


def test_unknown_user_and_step_errors():
    with pytest.raises(UserNotFound):
        selectors.user_get(login="nobody-here")
    with pytest.raises(UserNotFound):
        services.user_delete(login="nobody-here")
    services.user_login(login="erin")
    with pytest.raises(UnknownStep):
        services.user_restart(login="erin", from_step="make_coffee")


def test_steps_from_includes_downstream():
    assert pipeline.steps_from("repo_blurb") == [
        "repo_blurb",
        "repo_emphasis",
        "repo_keywords",
        "repo_kind",
    ]
    assert set(pipeline.steps_from("fetch_repos")) == set(pipeline.steps_all()) - {"fetch_profile"}


def _repo(full_name: str, **extra) -> Repo:
    owner, name = full_name.split("/")
    return Repo.objects.create(full_name=full_name, owner_login=owner, name=name, **extra)


def test_highlight_resolve_seed_tie_break():
    user = GitHubUser.objects.create(login="frank", state="active")
    fork = _repo("frank/tool")
    upstream = _repo("upstream/tool")
    other = _repo("frank/other")
    UserRepo.objects.create(user=user, repo=fork, include_reason="fork_active", commit_days=6)
    UserRepo.objects.create(user=user, repo=upstream, include_reason="contributed", commit_days=5)
    UserRepo.objects.create(user=user, repo=other, include_reason="owned", commit_days=None)
    links = user_links_list(user_id=user.id)
    # Most commit days wins.
    assert highlight_resolve(user_login="frank", links=links, names=["tool"]) == [fork.id]
    # Equal days: the repo owned by someone else (the original) wins.
    UserRepo.objects.filter(repo=upstream).update(commit_days=6)
    links = user_links_list(user_id=user.id)
    assert highlight_resolve(user_login="frank", links=links, names=["tool"]) == [upstream.id]
    # owner/name is exact; unknown names and duplicates are dropped.
    assert highlight_resolve(
        user_login="frank", links=links, names=["frank/tool", " other ", "nope", "other"]
    ) == [fork.id, other.id]


def test_delete_keeps_repos_linked_to_another_user():
    alice = GitHubUser.objects.create(login="alice2", state="active")
    bob = GitHubUser.objects.create(login="bob2", state="active")
    mine = _repo("alice2/solo")
    shared = _repo("carol/shared")
    UserRepo.objects.create(user=alice, repo=mine, include_reason="owned")
    UserRepo.objects.create(user=alice, repo=shared, include_reason="contributed")
    UserRepo.objects.create(user=bob, repo=shared, include_reason="contributed")
    services.user_delete(login="alice2")
    assert not GitHubUser.objects.filter(login="alice2").exists()
    assert not Repo.objects.filter(id=mine.id).exists()
    assert Repo.objects.filter(id=shared.id).exists()
    assert UserRepo.objects.filter(user=bob, repo=shared).exists()


def test_restart_clears_links_highlights_and_theme():
    result = services.user_login(login="gina")
    user = GitHubUser.objects.get(id=result.user_id)
    GitHubUser.objects.filter(id=user.id).update(theme="old theme")
    repo = _repo("gina/app", blurb="old blurb")
    UserRepo.objects.create(user=user, repo=repo, include_reason="owned", highlight_rank=1)
    WorkItem.objects.filter(user=user).update(status="succeeded")
    run = services.user_restart(login="gina")
    assert run.trigger == "restart" and run.status == "queued"
    assert not Repo.objects.filter(id=repo.id).exists()
    assert GitHubUser.objects.get(id=user.id).theme == ""
    assert set(WorkItem.objects.filter(user=user).values_list("status", flat=True)) == {"pending"}
    assert PipelineRun.objects.filter(user=user, status="cancelled").count() == 1


def test_restart_from_step_resets_only_downstream():
    result = services.user_login(login="hank")
    user = GitHubUser.objects.get(id=result.user_id)
    repo = _repo("hank/app", blurb="b", kind="k", link="https://x.dev")
    UserRepo.objects.create(user=user, repo=repo, include_reason="owned", highlight_rank=1)
    WorkItem.objects.filter(user=user).update(status="succeeded")
    for step in pipeline.steps_of_scope("repo"):
        WorkItem.objects.create(user=user, repo=repo, step=step, status="succeeded")
    services.user_restart(login="hank", from_step="repo_blurb")
    statuses = dict(WorkItem.objects.filter(user=user).values_list("step", "status").order_by())
    assert statuses["fetch_repos"] == "succeeded"
    assert statuses["repo_blurb"] == "pending" and statuses["repo_kind"] == "pending"
    assert statuses["repo_link"] == "succeeded"
    repo.refresh_from_db()
    assert repo.blurb == "" and repo.kind == "" and repo.link == "https://x.dev"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("call_name", ["login", "start"])
def test_fifty_concurrent_calls_make_one_user_and_one_run(call_name):
    errors: list[BaseException] = []
    results: list[int] = []
    barrier = threading.Barrier(50)

    def call():
        try:
            barrier.wait()
            if call_name == "login":
                results.append(services.user_login(login="Racer").run_id)
            else:
                results.append(services.user_start(login="Racer").id)
        except BaseException as exc:  # noqa: BLE001 - the assertion below reports it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert GitHubUser.objects.filter(login__iexact="racer").count() == 1
    assert PipelineRun.objects.count() == 1
    assert len(results) == 50 and len(set(results)) == 1
