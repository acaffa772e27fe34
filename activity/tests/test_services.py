"""The activity step in this process against the simulator: the document day by day,
incremental refresh, repos that cannot be read."""

from __future__ import annotations

import json

import pytest

from activity.models import ActivityRepo, UserActivity
from activity.tests.conftest import expected_document, linked, run, user
from users.models import WorkItem

pytestmark = pytest.mark.django_db


def _doc(login: str) -> UserActivity:
    return UserActivity.objects.get(user__login__iexact=login)


def test_document_matches_simulator_truth_day_by_day(inproc):
    login = "dana-kowalski"
    run(login)
    item = WorkItem.objects.get(user__login__iexact=login, step="user_activity")
    assert item.status == "succeeded", item.error
    row = _doc(login)
    doc = json.loads(row.document)
    assert list(doc) == ["version", "window_years", "days", "repo_days", "language_days"]
    assert doc["version"] == 1 and doc["window_years"] == 2
    expected = expected_document(inproc, login, linked(login))
    for day in sorted(set(doc["days"]) | set(expected["days"])):
        assert doc["days"].get(day) == expected["days"].get(day), day
    assert doc == expected
    assert doc["days"] and doc["language_days"]
    assert min(doc["days"]) >= row.window_start.isoformat()  # clipped to the window
    # other owners' repos count too
    assert any(not r.startswith(login + "/") for r in doc["repo_days"])
    assert row.coverage["repos_scanned"] >= 1 and row.coverage["repos_without_languages"] == []
    # the personal address was learnt from GitHub's lists (the noreply ones are known)
    assert f"{login}@mail.example" in row.identities


def _kinds(sim) -> dict[str, int]:
    stats = sim.stats()
    by_kind = stats["by_kind"]
    return {
        "rest": sum(by_kind.get(k, 0) for k in ("branches", "commits", "languages")),
        "not_modified": stats["not_modified"],
        "git": sum(stats["git_upload_packs"].values()),
    }


def test_refresh_of_unchanged_user_costs_only_304s_and_no_clone(inproc):
    login = "eli-navarro"
    run(login)
    first = _doc(login)
    before = _kinds(inproc)
    run(login, select="user_activity")
    after = _kinds(inproc)
    repos = len(linked(login))
    assert after["git"] == before["git"]  # no clone
    assert after["rest"] - before["rest"] == repos  # one branches request per repo
    assert after["not_modified"] - before["not_modified"] == repos  # each a free 304
    again = _doc(login)
    assert again.document == first.document
    assert again.coverage["repos_unchanged"] == repos and again.coverage["repos_scanned"] == 0


def test_refresh_after_a_push_adds_only_the_new_day_and_clones_only_that_repo(inproc):
    from django.utils import timezone

    login = "farah-haddad"
    run(login)
    first = json.loads(_doc(login).document)
    own = sorted(r for r in linked(login) if r.startswith(login + "/"))
    target = own[0]
    today = timezone.now().date().isoformat()
    inproc.push_commit(
        target, login=login, paths=["src/fresh_idea.py", "docs/notes.md"], branch="topic/new"
    )
    before = inproc.stats()["git_upload_packs"]
    run(login, select="user_activity")
    packs = inproc.stats()["git_upload_packs"]
    changed = {r for r in packs if packs[r] != before.get(r, 0)}
    assert changed == {target}
    doc = json.loads(_doc(login).document)
    assert doc == expected_document(inproc, login, linked(login))
    new_days = set(doc["days"]) - set(first["days"])
    assert new_days <= {today}
    assert target in doc["days"][today]["repos"]
    assert "Python" in doc["days"][today]["languages"]
    for day, entry in first["days"].items():
        if day != today:
            assert doc["days"][day] == entry
    row = ActivityRepo.objects.get(user__login__iexact=login, full_name__iexact=target)
    assert row.heads["topic/new"] and row.newest_sha


def test_empty_vanished_and_blocked_repos_do_not_fail_the_step(inproc):
    from repos.models import Repo, UserRepo

    login = "gus-muller"
    run(login)
    gus = user(login)
    empty = Repo.objects.create(
        full_name=f"{login}/gus-empty", owner_login=login, name="gus-empty", language="Go"
    )
    gone = Repo.objects.create(
        full_name=f"{login}/vanished-repo", owner_login=login, name="vanished-repo"
    )
    blocked = sorted(r for r in linked(login) if r.startswith(login + "/"))[0]
    for repo in (empty, gone):
        UserRepo.objects.create(user=gus, repo=repo, include_reason=UserRepo.Reason.MANUAL)
    inproc.configure(blocked_repos=[blocked])
    run(login, select="user_activity")
    item = WorkItem.objects.get(user=gus, step="user_activity")
    assert item.status == "succeeded", item.error
    coverage = _doc(login).coverage
    skipped = {s["repo"]: s["reason"] for s in coverage["repos_skipped"]}
    assert skipped == {empty.full_name: "empty", gone.full_name: "not_found", blocked: "blocked"}
    doc = json.loads(_doc(login).document)
    assert blocked not in doc["repo_days"] and doc["days"]


def test_clone_over_the_size_cap_counts_days_without_languages(inproc, settings):
    login = "hana-sato"
    settings.ACTIVITY_MAX_CLONE_BYTES = 1000
    run(login)
    row = _doc(login)
    doc = json.loads(row.document)
    failed = {r["repo"] for r in row.coverage["repos_without_languages"]}
    assert failed == linked(login)
    assert all("cap" in r["reason"] for r in row.coverage["repos_without_languages"])
    expected = expected_document(inproc, login, linked(login))
    assert set(doc["days"]) <= set(expected["days"]) and doc["days"]
    assert doc["language_days"] == {}
    assert all(entry["languages"] == [] for entry in doc["days"].values())


def test_deleting_the_user_removes_their_activity(inproc):
    from users.services import user_delete

    login = "ivan-petrov"
    run(login, select="fetch_profile,fetch_repos,user_activity")
    assert UserActivity.objects.filter(user__login__iexact=login).exists()
    user_delete(login=login)
    assert not UserActivity.objects.filter(user__login__iexact=login).exists()
    assert not ActivityRepo.objects.filter(user__login__iexact=login).exists()


def test_user_activity_is_a_registered_optional_step_after_fetch_repos():
    from users import pipeline

    step = pipeline.step_get("user_activity")
    assert step.scope == "user" and step.depends_on == ("fetch_repos",) and not step.required
    assert "user_activity" in pipeline.steps_from("fetch_repos")


def test_repos_past_the_step_budget_are_deferred_to_the_next_refresh(inproc, settings):
    login = "kai-lindqvist"
    settings.ACTIVITY_STEP_BUDGET_SECONDS = 1
    run(login)
    row = _doc(login)
    assert set(row.coverage["repos_deferred"]) == linked(login)
    assert row.coverage["repos_scanned"] == 0
    settings.ACTIVITY_STEP_BUDGET_SECONDS = 200
    run(login, select="user_activity")
    row = _doc(login)
    assert row.coverage["repos_deferred"] == [] and row.coverage["repos_scanned"] == len(
        linked(login)
    )
    assert json.loads(row.document) == expected_document(inproc, login, linked(login))


def test_per_repo_commit_cap_keeps_the_newest_and_reports_what_it_left_out(inproc, settings):
    login = "lena-fischer"
    settings.ACTIVITY_MAX_COMMITS_PER_REPO = 2
    run(login)
    row = _doc(login)
    assert row.coverage["commits_left_out"]["per_repo_cap"] > 0
    assert row.coverage["caps"]["commits_per_repo"] == 2
    for repo in ActivityRepo.objects.filter(user__login__iexact=login, status="ok"):
        assert repo.commits_counted <= 2
    expected = expected_document(inproc, login, linked(login))
    doc = json.loads(row.document)
    for repo, days in doc["repo_days"].items():
        # the newest days are the ones kept
        assert days == expected["repo_days"][repo][-len(days) :]
