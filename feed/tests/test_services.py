"""The feed's first stage, ranking, fatigue and exposures, on real Postgres."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from django.db import connection

from feed import selectors, services
from feed.models import FeedEntry, FeedExposure, FeedJudgment
from repos.selectors import repo_payload
from tests.factories import NOW, RepoFactory, UserFactory, highlight, star
from users import services as user_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """viewer (Python, parsers) and three other authors; one of them a ghost."""
    viewer = UserFactory(login="viewer", theme="Python parsing tools")
    mine = RepoFactory(full_name="viewer/own", keywords=["parsing"])
    highlight(viewer, mine)
    ada = UserFactory(login="ada")
    bob = UserFactory(login="bob", ghost=True)
    cy = UserFactory(login="cy")
    a1 = RepoFactory(full_name="ada/parser", keywords=["parsing", "ast"], emphasis=["Python"])
    a2 = RepoFactory(
        full_name="ada/webapp", language="JavaScript", keywords=["web"], kind="application"
    )
    b1 = RepoFactory(full_name="bob/lexer", keywords=["parsing"], pushed_days_ago=400)
    shared = RepoFactory(full_name="cy/shared", language="Go")
    highlight(ada, a1, a2)
    highlight(bob, b1)
    highlight(cy, shared)
    highlight(ada, shared, reason="contributed")  # one repo, two highlighters
    # The viewer's own repos never come back, whoever highlights them (any case).
    upper = RepoFactory(full_name="Viewer/other")
    highlight(cy, upper, mine)
    return {"viewer": viewer, "ada": ada, "bob": bob, "cy": cy, "a1": a1, "b1": b1}


def names(items):
    return [item["full_name"] for item in items]


def test_candidates_exclude_the_viewers_own_and_appear_once(world):
    rows = selectors.candidates_list(viewer=world["viewer"])
    by_repo = {r["full_name"]: r["author_login"] for r in rows}
    assert sorted(by_repo) == ["ada/parser", "ada/webapp", "bob/lexer", "cy/shared"]
    assert by_repo["cy/shared"] == "cy"  # credited to its owner, not the contributor


def test_first_serve_is_stage_one_at_once_never_empty(world):
    items = services.feed_serve(viewer="viewer", limit=10, now=NOW)
    assert sorted(names(items)) == ["ada/parser", "ada/webapp", "bob/lexer", "cy/shared"]
    assert items[0]["full_name"] == "ada/parser"  # language, keywords, kind, theme
    # Reasons come strongest first: the shared keyword ("parsing") places it most.
    assert items[0]["reasons"][0] == "keywords"
    assert {"language", "theme"} <= set(items[0]["reasons"])
    assert all(item["judged"] is None for item in items)


def test_items_carry_every_data_field_author_and_real_ghost_flag(world):
    items = {i["full_name"]: i for i in services.feed_serve(viewer="viewer", limit=10, now=NOW)}
    lexer = items["bob/lexer"]
    expected = repo_payload(world["b1"], include_reason="owned", commit_days=7)
    assert {k: lexer[k] for k in expected} == expected
    assert lexer["username"] == "bob" and lexer["is_ghost"] is True
    assert items["ada/parser"]["is_ghost"] is False
    assert isinstance(lexer["score"], float) and isinstance(lexer["reasons"], list)
    # The ghost signs in: the next page says so.
    user_services.user_login(login="bob")
    again = {i["full_name"]: i for i in services.feed_serve(viewer="viewer", limit=10, now=NOW)}
    assert again["bob/lexer"]["is_ghost"] is False


def _statements_counted(monkeypatch) -> list[str]:
    """Every statement psycopg sends from now on, Django's cursors and raw ones alike."""
    sent: list[str] = []
    execute = psycopg.Cursor.execute

    def counted(cursor, query, *args, **kwargs):
        sent.append(str(query))
        return execute(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counted)
    return sent


def test_exposures_counted_once_per_serve_in_one_statement(world, monkeypatch):
    services.feed_serve(viewer="viewer", limit=2, now=NOW)  # builds stage 1
    viewer = world["viewer"]
    sent = _statements_counted(monkeypatch)
    page = services.feed_serve(viewer="viewer", limit=3, now=NOW)
    # Viewer lookup, rebuild check, ranking and the exposure upsert: one statement.
    assert len(sent) == 1 and len(page) == 3
    assert "INSERT INTO gazer_feed_exposure" in sent[0]
    monkeypatch.undo()
    shown = dict(
        FeedExposure.objects.filter(viewer=viewer).values_list("repo__full_name", "times_shown")
    )
    for item in page:
        assert shown[item["full_name"]] >= 1
    before = sum(shown.values())
    services.feed_serve(viewer="viewer", limit=4, now=NOW)
    after = sum(FeedExposure.objects.filter(viewer=viewer).values_list("times_shown", flat=True))
    assert after == before + 4
    # Peeking records nothing.
    services.feed_items_peek(viewer=viewer, limit=4)
    assert (
        sum(FeedExposure.objects.filter(viewer=viewer).values_list("times_shown", flat=True))
        == after
    )


def test_reading_the_page_records_nothing_in_one_statement(world, monkeypatch):
    services.feed_serve(viewer="viewer", limit=10, now=NOW)
    viewer = world["viewer"]
    before = list(FeedExposure.objects.filter(viewer=viewer).values_list("repo_id", "times_shown"))
    sent = _statements_counted(monkeypatch)
    page = selectors.page_get(viewer_id=viewer.pk, limit=10, now=NOW)
    assert len(sent) == 1 and page.count == 4 and page.login == "viewer"
    assert "INSERT" not in sent[0].upper() and "set_config" not in sent[0]
    monkeypatch.undo()
    after = list(FeedExposure.objects.filter(viewer=viewer).values_list("repo_id", "times_shown"))
    assert after == before
    assert selectors.page_get(viewer_id=viewer.pk + 10_000, limit=10) is None


@pytest.mark.parametrize("async_commit", [True, False])
def test_the_serving_statement_is_decided_by_the_setting_alone(
    world, monkeypatch, settings, async_commit
):
    """The same SQL in a caller's transaction (this test's) as in autocommit: only
    FEED_EXPOSURE_ASYNC_COMMIT decides whether it commits without the WAL flush."""
    settings.FEED_EXPOSURE_ASYNC_COMMIT = async_commit
    services.feed_serve(viewer="viewer", limit=2, now=NOW)
    assert connection.in_atomic_block
    sent = _statements_counted(monkeypatch)
    services.feed_serve(viewer="viewer", limit=2, now=NOW)
    assert len(sent) == 1
    assert ("set_config('synchronous_commit', 'off', true)" in sent[0]) is async_commit


def test_the_page_statement_is_prepared_once_per_connection(world, settings):
    settings.DB_PREPARED_STATEMENTS = True
    for _ in range(3):
        services.feed_serve(viewer="viewer", limit=2, now=NOW)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE %s",
            ["%INSERT INTO gazer_feed_exposure%"],
        )
        uses = [row[0] for row in cursor.fetchall()]
    # The first serve builds stage 1 and runs the statement twice; two more serves reuse it.
    assert uses and max(uses) >= 3


def _two_equal(world):
    """Two candidates the first stage scores alike (only these two)."""
    viewer = UserFactory(login="fresh-eyes")
    twin_a = RepoFactory(full_name="ada/twin-a", language="Rust", keywords=["x"])
    twin_b = RepoFactory(full_name="ada/twin-b", language="Rust", keywords=["x"])
    FeedEntry.objects.all().delete()
    services.feed_stage1_store(viewer=viewer, now=NOW)
    FeedEntry.objects.filter(viewer=viewer).exclude(repo__in=[twin_a, twin_b]).delete()
    return viewer, twin_a, twin_b


def test_fatigue_moves_an_item_shown_many_times_below_a_fresh_equal_one(world):
    viewer, twin_a, twin_b = _two_equal(world)
    highlight(world["ada"], twin_a, twin_b)
    services.feed_stage1_store(viewer=viewer, now=NOW)
    FeedEntry.objects.filter(viewer=viewer).exclude(repo__in=[twin_a, twin_b]).delete()
    FeedEntry.objects.filter(viewer=viewer).update(score=1.0)
    first = selectors.page_fetch(viewer=viewer, limit=2, now=NOW)
    assert names(first) == ["ada/twin-a", "ada/twin-b"]  # equal: repo id decides
    FeedExposure.objects.create(viewer=viewer, repo=twin_a, times_shown=5, last_shown_at=NOW)
    later = selectors.page_fetch(viewer=viewer, limit=2, now=NOW + timedelta(days=30))
    assert names(later) == ["ada/twin-b", "ada/twin-a"]
    assert later[1]["score"] == pytest.approx(1.0 - 18 * 5 / 500, abs=1e-3)


def test_fatigue_wears_off_with_time(world):
    viewer, twin_a, twin_b = _two_equal(world)
    highlight(world["ada"], twin_a, twin_b)
    services.feed_stage1_store(viewer=viewer, now=NOW)
    FeedEntry.objects.filter(viewer=viewer).exclude(repo__in=[twin_a, twin_b]).delete()
    FeedEntry.objects.filter(viewer=viewer, repo=twin_b).update(score=1.0)
    FeedEntry.objects.filter(viewer=viewer, repo=twin_a).update(score=1.06)
    shown = services.feed_serve(viewer=viewer, limit=1, now=NOW)
    assert names(shown) == ["ada/twin-a"]
    # Just shown: 18 + 24 hours of penalty (0.084) outweigh its 0.06 lead...
    soon = selectors.page_fetch(viewer=viewer, limit=2, now=NOW + timedelta(minutes=5))
    assert names(soon) == ["ada/twin-b", "ada/twin-a"]
    # ...three days later the recent part has decayed (18 + 24·e^-3 ≈ 19.2 h, 0.038).
    later = selectors.page_fetch(viewer=viewer, limit=2, now=NOW + timedelta(days=3))
    assert names(later) == ["ada/twin-a", "ada/twin-b"]


def test_judged_included_come_first_then_stage_one_then_excluded(world):
    services.feed_serve(viewer="viewer", limit=10, now=NOW)
    viewer = world["viewer"]
    FeedEntry.objects.filter(viewer=viewer, repo__full_name="bob/lexer").update(include=True)
    FeedEntry.objects.filter(viewer=viewer, repo__full_name="ada/parser").update(include=False)
    page = selectors.page_fetch(viewer=viewer, limit=10, now=NOW)
    assert page[0]["full_name"] == "bob/lexer" and page[-1]["full_name"] == "ada/parser"


def test_star_graph_signals_change_the_order_as_their_weights_say(world, settings):
    viewer = world["viewer"]
    kin = UserFactory(login="kin")
    seen = [RepoFactory(full_name=f"zed/seen-{i}") for i in range(3)]
    star(viewer, *seen)
    star(kin, *seen)
    older = RepoFactory(full_name="ada/older", language="Rust", pushed_days_ago=300)
    newer = RepoFactory(full_name="cy/newer", language="Rust", pushed_days_ago=5)
    highlight(world["ada"], older)
    highlight(world["cy"], newer)
    star(kin, older)  # the kindred developer starred the older one

    def order():
        scored = services.feed_stage1(viewer=viewer, now=NOW)
        return [
            s.candidate.full_name
            for s in scored
            if s.candidate.full_name in (older.full_name, newer.full_name)
        ], scored

    settings.FEED_WEIGHT_STARRED_BY_KINDRED = 0.0
    settings.FEED_WEIGHT_STARGAZER_OVERLAP = 0.0
    settings.FEED_WEIGHT_AUTHOR_STARRED_BY_KINDRED = 0.0
    assert order()[0] == ["cy/newer", "ada/older"]  # recency alone
    settings.FEED_WEIGHT_STARRED_BY_KINDRED = 2.0
    ranked, scored = order()
    assert ranked == ["ada/older", "cy/newer"]
    reasons = next(s.reasons for s in scored if s.candidate.full_name == "ada/older")
    assert reasons[0] == "starred_by_kindred"
    # Stargazer overlap and "authors the kindred starred" are signals of their own.
    settings.FEED_WEIGHT_STARRED_BY_KINDRED = 0.0
    settings.FEED_WEIGHT_STARGAZER_OVERLAP = 2.0
    assert order()[0] == ["ada/older", "cy/newer"]
    settings.FEED_WEIGHT_STARGAZER_OVERLAP = 0.0
    settings.FEED_WEIGHT_AUTHOR_STARRED_BY_KINDRED = 2.0
    ranked, scored = order()
    assert ranked == ["ada/older", "cy/newer"]
    parser = next(s for s in scored if s.candidate.full_name == "ada/parser")
    assert "author_starred_by_kindred" in parser.reasons  # ada's other repo gains too


def test_deleting_an_author_removes_their_repos_from_every_feed(world):
    services.feed_serve(viewer="viewer", limit=10, now=NOW)
    user_services.user_delete(login="ada")
    items = services.feed_serve(viewer="viewer", limit=10, now=NOW)
    assert "ada/parser" not in names(items) and "bob/lexer" in names(items)


def test_deleting_a_viewer_removes_their_judgments_and_exposures(world):
    viewer = world["viewer"]
    services.feed_serve(viewer=viewer, limit=10, now=NOW)
    FeedJudgment.objects.create(
        viewer=viewer, repo=world["a1"], include=True, viewer_fingerprint="v",
        candidate_fingerprint="c", model="m",
    )  # fmt: skip
    assert FeedExposure.objects.filter(viewer=viewer).exists()
    user_services.user_delete(login="viewer")
    assert not FeedExposure.objects.exists()
    assert not FeedJudgment.objects.exists()
    assert not FeedEntry.objects.filter(viewer_id=viewer.pk).exists()


def test_a_grown_candidate_set_queues_one_rebuild(world, django_capture_on_commit_callbacks):
    from feed.models import FeedRebuild

    with django_capture_on_commit_callbacks() as callbacks:
        services.feed_serve(viewer="viewer", limit=5, now=NOW)
    assert len(callbacks) == 1  # the first view queues the first rebuild
    row = FeedRebuild.objects.get(viewer=world["viewer"])
    assert row.queued_at is not None and row.trigger == "first_view"
    FeedRebuild.objects.filter(pk=row.pk).update(queued_at=None)
    highlight(world["cy"], RepoFactory(full_name="cy/brand-new"))
    with django_capture_on_commit_callbacks() as callbacks:
        services.feed_serve(viewer="viewer", limit=5, now=NOW)
        services.feed_serve(viewer="viewer", limit=5, now=NOW)
        services.feed_rebuild_request(viewer="viewer")
    assert len(callbacks) == 1  # debounced: one queued rebuild
    assert FeedRebuild.objects.get(viewer=world["viewer"]).trigger == "candidates_grew"


def test_limit_parse_accepts_only_plain_integers_from_1_to_100():
    assert services.limit_parse(None) == 30
    assert services.limit_parse("1") == 1 and services.limit_parse("100") == 100
    for bad in ["0", "-1", "101", "abc", "1.5", "1e3", "", " 5", "+5", "0x10", "99999"]:
        with pytest.raises(services.errors.InvalidLimit):
            services.limit_parse(bad)


def test_a_cleared_highlight_leaves_the_page_at_once_and_queues_a_rebuild(
    world, django_capture_on_commit_callbacks
):
    from feed.models import FeedRebuild
    from repos.models import UserRepo

    services.feed_serve(viewer="viewer", limit=10, now=NOW)
    FeedRebuild.objects.filter(viewer=world["viewer"]).update(queued_at=None)
    UserRepo.objects.filter(repo=world["a1"]).update(highlight_rank=None)
    with django_capture_on_commit_callbacks() as callbacks:
        items = services.feed_serve(viewer="viewer", limit=10, now=NOW)
    assert "ada/parser" not in names(items) and len(items) == 3
    assert len(callbacks) == 1  # the candidate set changed: a rebuild is queued


def test_the_page_is_the_full_ranking_however_exposures_fall(world, settings):
    """The page reads the best never-shown entries off the index plus every shown one:
    it must equal ranking all of the viewer's entries with fatigue, for any exposures."""
    import math
    import random

    viewer = world["viewer"]
    author = UserFactory(login="many")
    repos = [RepoFactory(full_name=f"many/r{i:02d}") for i in range(40)]
    highlight(author, *repos)
    rng = random.Random(5)
    FeedEntry.objects.filter(viewer_id=viewer.pk).delete()
    FeedEntry.objects.bulk_create(
        [
            FeedEntry(
                viewer=viewer, repo=repo, author=author, score=round(rng.uniform(0, 0.2), 3),
                reasons=[], include=rng.choice([True, None, False]),
            )
            for repo in repos
        ]
    )  # fmt: skip
    for repo in rng.sample(repos, 25):
        FeedExposure.objects.create(
            viewer=viewer, repo=repo, times_shown=rng.randint(0, 3),
            last_shown_at=rng.choice([None, NOW - timedelta(hours=rng.uniform(0, 72))]),
        )  # fmt: skip
    shown = {x.repo_id: x for x in FeedExposure.objects.filter(viewer=viewer)}

    def ranked(entry):
        x = shown.get(entry.repo_id)
        hours = 0.0
        if x is not None:
            hours = settings.FEED_FATIGUE_SHOWN_HOURS * x.times_shown
            if x.last_shown_at is not None:
                age = (NOW - x.last_shown_at).total_seconds() / 3600
                hours += settings.FEED_FATIGUE_RECENT_HOURS * math.exp(
                    -age / settings.FEED_FATIGUE_DECAY_HOURS
                )
        tier = 0 if entry.include else 1 if entry.include is None else 2
        return (tier, -(entry.score - hours / settings.FEED_FATIGUE_HOURS_PER_POINT), entry.repo_id)

    entries = sorted(FeedEntry.objects.filter(viewer_id=viewer.pk), key=ranked)
    for limit in (1, 5, 12, 40):
        page = selectors.page_fetch(viewer=viewer, limit=limit, now=NOW)
        expected = [f"many/r{repos.index(e.repo):02d}" for e in entries[:limit]]
        assert names(page) == expected


def test_the_candidate_count_follows_every_change_to_highlights(world):
    from repos.models import UserRepo
    from repos.services import user_highlights_set

    def real():
        return UserRepo.objects.filter(highlight_rank__isnull=False).count()

    assert selectors.candidates_count() == real() > 0
    extra = RepoFactory(full_name="cy/extra")
    highlight(world["cy"], extra)  # insert
    assert selectors.candidates_count() == real()
    user_highlights_set(user_id=world["ada"].pk, repo_ids=[world["a1"].pk])  # updates
    assert selectors.candidates_count() == real()
    UserRepo.objects.filter(user=world["cy"]).update(include_reason="manual")  # no change
    assert selectors.candidates_count() == real()
    user_services.user_delete(login="bob")  # cascaded deletes
    assert selectors.candidates_count() == real()
    UserRepo.objects.all().delete()
    assert selectors.candidates_count() == real() == 0
