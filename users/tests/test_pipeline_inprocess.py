"""The pipeline driven in this process (`manage.py run`) against the simulator: LLM
failure modes and their fallbacks, and `--select`."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import call_command

from users import selectors
from users.models import GitHubUser, WorkItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def inproc(sim, settings):
    settings.GITHUB_TOKENS = [f"pipe-inproc-{uuid.uuid4().hex[:8]}"]
    return sim


def _run(login: str, **options) -> dict:
    call_command("run", login, stdout=io.StringIO(), stderr=io.StringIO(), **options)
    user = GitHubUser.objects.get(login__iexact=login)
    return {
        "progress": selectors.user_progress(user=user),
        "data": selectors.user_data(user=user),
    }


def _outputs(progress: dict, step: str) -> list[dict]:
    return [i["output"] for i in progress["items"] if i["step"] == step]


def _assert_complete(data: dict) -> None:
    assert data["theme"]
    assert 1 <= len(data["highlighted_repos"]) <= 5
    for repo in data["highlighted_repos"]:
        assert repo["blurb"]
        assert repo["emphasis"]
        assert 1 <= len(repo["keywords"]) <= 4
        assert 1 <= len(repo["kind"].split()) <= 4


def test_garbage_llm_answers_fall_back_to_heuristics(inproc):
    inproc.configure(llm={"malformed": "garbage"})
    result = _run("farah-haddad")
    assert result["progress"]["state"] == "ready"
    _assert_complete(result["data"])
    assert _outputs(result["progress"], "select_highlights")[0]["source"] == "fallback"
    assert {o["source"] for o in _outputs(result["progress"], "repo_kind")} == {"fallback"}
    assert inproc.stats()["llm_calls"].get("select_highlights", 0) >= 1


def test_repairable_llm_answers_are_used(inproc):
    inproc.configure(llm={"malformed": "repairable"})
    result = _run("gus-muller")
    assert result["progress"]["state"] == "ready"
    _assert_complete(result["data"])
    assert _outputs(result["progress"], "select_highlights")[0]["source"] == "llm"
    assert {o["source"] for o in _outputs(result["progress"], "repo_blurb")} == {"llm"}


def test_no_llm_key_runs_heuristics_without_calls(inproc, settings):
    settings.LLM_API_KEY = ""
    before = sum(inproc.stats()["llm_calls"].values())
    result = _run("hana-sato")
    assert result["progress"]["state"] == "ready"
    _assert_complete(result["data"])
    assert sum(inproc.stats()["llm_calls"].values()) == before
    for step in ("select_highlights", "user_theme", "repo_blurb", "repo_keywords"):
        assert {o["source"] for o in _outputs(result["progress"], step)} == {"fallback"}


def test_run_select_reruns_only_those_steps(inproc):
    first = _run("ivan-petrov")
    assert first["progress"]["state"] == "ready"
    finished = {(i["step"], i["repo"]): i["finished_at"] for i in first["progress"]["items"]}
    second = _run("ivan-petrov", select="repo_kind,user_theme")
    assert second["progress"]["state"] == "ready"
    for item in second["progress"]["items"]:
        rerun = item["step"] in ("repo_kind", "user_theme")
        assert (item["finished_at"] != finished[(item["step"], item["repo"])]) == rerun
    assert WorkItem.objects.filter(status="succeeded").count() == len(finished)


def test_run_exits_non_zero_when_the_run_fails(inproc):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="failed"):
        _run("no-such-simulated-user-zz")
    user = GitHubUser.objects.get(login__iexact="no-such-simulated-user-zz")
    assert selectors.user_progress(user=user)["state"] == "failed"


def test_select_of_an_llm_step_without_a_key_stops_unless_asked(inproc, settings):
    from django.core.management.base import CommandError

    first = _run("lena-fischer")
    assert first["progress"]["state"] == "ready"
    before = _outputs(first["progress"], "repo_keywords")
    assert {o["source"] for o in before} == {"llm"}
    settings.LLM_API_KEY = ""
    with pytest.raises(CommandError, match="no LLM key in this environment"):
        _run("lena-fischer", select="repo_keywords")
    user = GitHubUser.objects.get(login__iexact="lena-fischer")
    assert _outputs(selectors.user_progress(user=user), "repo_keywords") == before
    # Asked for explicitly, the heuristics answer.
    forced = _run("lena-fischer", select="repo_keywords", allow_fallback=True)
    assert {o["source"] for o in _outputs(forced["progress"], "repo_keywords")} == {"fallback"}


def test_select_rerun_with_a_failing_llm_keeps_the_llm_answers(inproc):
    first = _run("lena-fischer")
    assert first["progress"]["state"] == "ready"
    before = _outputs(first["progress"], "repo_keywords")
    assert before and {o["source"] for o in before} == {"llm"}
    keywords_before = {r["full_name"]: r["keywords"] for r in first["data"]["highlighted_repos"]}

    inproc.configure(llm={"malformed": "garbage"})
    rerun = _run("lena-fischer", select="repo_keywords")
    after = _outputs(rerun["progress"], "repo_keywords")
    assert {o["source"] for o in after} == {"llm"}
    assert all(o["kept"] for o in after)
    keywords_after = {r["full_name"]: r["keywords"] for r in rerun["data"]["highlighted_repos"]}
    assert keywords_after == keywords_before


def test_a_git_storm_makes_a_blurb_wait_never_a_blurb_without_its_clone(inproc, settings):
    from users import engine, services
    from workers.llm import inline_calls

    settings.GITHUB_RETRY_BACKOFF_SECONDS = 0.001
    first = _run("gus-muller")
    assert first["progress"]["state"] == "ready"
    blurbs = {r["full_name"]: r["blurb"] for r in first["data"]["highlighted_repos"]}
    full_name = sorted(blurbs)[0]
    inproc.configure(
        faults={"error_rate": 1.0, "error_status": 502, "path_prefix": f"/{full_name}.git/"}
    )
    run = services.run_create_for_command(login="gus-muller", select=["repo_blurb"])
    item = WorkItem.objects.get(run=run, step="repo_blurb", repo__full_name=full_name)
    assert engine.work_item_run(item_id=item.id, advance=False) == "waiting"
    item.refresh_from_db()
    assert item.status == "pending" and item.error.startswith("GitHub errors; retrying at")

    inproc.configure(faults={"error_rate": 0.0})
    WorkItem.objects.filter(id=item.id).update(not_before=None)
    with inline_calls():  # the blurb's LLM call in this process, as `manage.py run` does
        assert engine.work_item_run(item_id=item.id, advance=False) == "succeeded"
    item.refresh_from_db()
    assert item.output["source"] == "llm" and item.output["clone_error"] is None
    assert item.output["context_files"]
