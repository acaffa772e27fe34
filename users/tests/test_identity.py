"""Who a users row is: the login and github_id rules every writer of users goes through."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from users.identity import (
    SeenUser,
    logins_reconcile,
    user_github_id_claim,
    user_upsert_by_login,
    users_upsert_seen,
)
from users.models import GitHubUser

pytestmark = pytest.mark.django_db


def _user(login: str, *, github_id: int | None = None, state: str = "active") -> GitHubUser:
    return GitHubUser.objects.create(login=login, github_id=github_id, state=state)


def test_upsert_by_login_matches_any_case_and_inserts_once():
    first, inserted = user_upsert_by_login(login="Octo", state="ghost")
    again, inserted_again = user_upsert_by_login(login="octo", state="active")
    assert inserted and not inserted_again
    assert again.pk == first.pk and again.login == "Octo" and again.state == "ghost"


def test_upsert_seen_creates_discovered_users_in_one_statement():
    seen = [SeenUser(github_id=g, login=f"seen-{g}", avatar_url=f"a{g}") for g in (3, 1, 2)]
    with CaptureQueriesContext(connection) as queries:
        ids = users_upsert_seen(users=seen)
    inserts = [q for q in queries.captured_queries if "INSERT INTO" in q["sql"]]
    assert len(inserts) == 1
    rows = GitHubUser.objects.filter(pk__in=ids.values()).order_by("github_id")
    assert [(u.github_id, u.login, u.state, u.avatar_url) for u in rows] == [
        (1, "seen-1", "discovered", "a1"),
        (2, "seen-2", "discovered", "a2"),
        (3, "seen-3", "discovered", "a3"),
    ]
    assert ids == {u.github_id: u.pk for u in rows}


def test_upsert_seen_takes_githubs_current_login_and_keeps_the_state():
    known = _user("before", github_id=10, state="active")
    ids = users_upsert_seen(users=[SeenUser(github_id=10, login="After", html_url="h")])
    known.refresh_from_db()
    assert ids == {10: known.pk}
    assert known.login == "After" and known.html_url == "h" and known.state == "active"


def test_upsert_seen_adopts_a_row_known_by_login_only():
    ghost = _user("Lone", state="ghost")
    ids = users_upsert_seen(users=[SeenUser(github_id=20, login="lone")])
    ghost.refresh_from_db()
    assert ids == {20: ghost.pk} and ghost.github_id == 20 and ghost.state == "ghost"
    assert GitHubUser.objects.count() == 1


def test_upsert_seen_renames_the_holder_of_a_login_given_to_another_id():
    holder = _user("taken", github_id=30, state="active")
    ids = users_upsert_seen(users=[SeenUser(github_id=31, login="Taken")])
    holder.refresh_from_db()
    assert holder.login == f"taken~{holder.pk}" and holder.github_id == 30
    newcomer = GitHubUser.objects.get(pk=ids[31])
    assert newcomer.login == "Taken" and newcomer.state == "discovered"


def test_upsert_seen_renames_a_login_only_row_when_its_id_is_held_elsewhere():
    """The github_id already names a row (the user renamed on GitHub): that row takes the
    login, and the row known by the login only is marked, not given a second id."""
    renamed = _user("old-name", github_id=40)
    stale = _user("new-name", state="ghost")
    ids = users_upsert_seen(users=[SeenUser(github_id=40, login="new-name")])
    renamed.refresh_from_db()
    stale.refresh_from_db()
    assert ids == {40: renamed.pk} and renamed.login == "new-name"
    assert stale.login == f"new-name~{stale.pk}" and stale.github_id is None


def test_upsert_seen_keeps_marked_logins_within_githubs_length():
    holder = _user("x" * 39, github_id=50)
    users_upsert_seen(users=[SeenUser(github_id=51, login="X" * 39)])
    holder.refresh_from_db()
    assert holder.login == "x" * 25 + f"~{holder.pk}" and len(holder.login) <= 39


def test_upsert_seen_ignores_entries_without_id_or_login():
    assert users_upsert_seen(users=[SeenUser(github_id=0, login="a")]) == {}
    assert users_upsert_seen(users=[SeenUser(github_id=60, login="")]) == {}
    assert not GitHubUser.objects.exists()


def test_logins_reconcile_leaves_a_login_its_id_already_holds():
    owner = _user("mine", github_id=70)
    assert logins_reconcile(logins=["MINE"], github_ids=[70]) == 0
    owner.refresh_from_db()
    assert owner.login == "mine"


def test_github_id_claim_first_row_keeps_it():
    first = _user("first", github_id=80)
    second = _user("second")
    assert user_github_id_claim(user_id=second.pk, github_id=80) is False
    second.refresh_from_db()
    assert second.github_id is None
    assert user_github_id_claim(user_id=first.pk, github_id=80) is True
    assert user_github_id_claim(user_id=second.pk, github_id=81) is True
    second.refresh_from_db()
    assert second.github_id == 81
