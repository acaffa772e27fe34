"""The whole pipeline through a real Celery worker against the GitHub simulator."""

from __future__ import annotations

import uuid

import pytest

from repos.models import GalleryImage, Repo, UserRepo
from users.models import GitHubUser, PipelineRun, WorkItem
from users.tests.conftest import own_token, progress, wait_finished
from users.tokens import token_encrypt
from workers.testing import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

TERMINAL = {"succeeded", "failed", "skipped"}


def _login(api, login: str, token: str | None = None) -> dict:
    body = {"github_token": token} if token else {}
    response = api.post(f"/users/{login}/login", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _data(api, login: str) -> dict:
    response = api.get(f"/users/{login}/data")
    assert response.status_code == 200
    return response.json()


# Request kinds only the profile pipeline makes (the star graph, which a login also
# starts, reads starred lists and stargazers).
PIPELINE_KINDS = ("user_repos", "branches", "commits", "graphql", "readme", "git")


def _pipeline_requests(sim) -> dict[str, int]:
    by_kind = sim.stats()["by_kind"]
    return {kind: by_kind.get(kind, 0) for kind in PIPELINE_KINDS}


def test_world_user_end_to_end_then_refresh_costs_nothing(api, sim, pipe_worker):
    login = "avery-lin"
    token = own_token(login)
    assert _login(api, login, token) == {
        "ok": True,
        "status": "new",
        "processing": True,
        "data_ready": False,
    }
    during = progress(api, login)
    assert during["state"] in ("queued", "running")
    assert {i["step"] for i in during["items"]} >= {"fetch_profile", "fetch_repos"}

    after = wait_finished(api, login)
    assert after["state"] == "ready", after
    assert all(i["status"] in TERMINAL for i in after["items"])
    ran = [i for i in after["items"] if i["status"] == "succeeded"]
    assert all(i["started_at"] and i["finished_at"] for i in ran)
    assert {i["scope"] for i in after["items"]} == {"user", "repo"}
    # The LLM (through the LLM worker) answered the prompts, not the fallbacks.
    llm_steps = {"select_highlights", "repo_blurb", "repo_kind", "user_theme"}
    sources = {i["output"].get("source") for i in ran if i["step"] in llm_steps}
    assert sources == {"llm"}, sources

    truth = sim.truth(f"users/{login}/highlight-nominees")
    data = _data(api, login)
    assert data["user"]["login"] == login and data["user"]["is_ghost"] is False
    assert data["theme"]
    assert {r["full_name"] for r in data["repos"]} == {x["full_name"] for x in truth["linked"]}
    pushed = [r["pushed_at"] for r in data["repos"]]
    assert pushed == sorted(pushed, reverse=True)
    nominees = {x["full_name"] for x in truth["nominees"]}
    highlights = data["highlighted_repos"]
    assert 1 <= len(highlights) <= 5
    for repo in highlights:
        assert repo["full_name"] in nominees
        assert repo["blurb"] and repo["language"] and repo["language"] in repo["blurb"]
        assert 1 <= len(repo["keywords"]) <= 4
        assert repo["emphasis"]
        assert 1 <= len(repo["kind"].split()) <= 4
        images = sim.truth(f"repos/{repo['full_name']}/readme-images", web_url=sim.web_url)
        kept = {i["resolved_url"] for i in images["images"] if i["keep"]}
        assert {g["url"] for g in repo["gallery"]} == kept
        if repo["homepage"]:
            assert repo["link"].startswith("https://") or repo["link"].startswith("http://")
    assert any(repo["gallery"] for repo in highlights)

    # A refresh of the unchanged user: every step already succeeded and is skipped, but
    # the activity step refreshes: branch heads over git (outside the API budget), so it
    # costs no REST request and no GraphQL point.
    requests_before = _pipeline_requests(sim)
    points_before = sim.stats()["graphql_points"]
    llm_before = sum(sim.stats()["llm_calls"].values())
    again = _login(api, login)
    assert again["status"] == "existing" and again["data_ready"] is True
    refreshed = wait_finished(api, login)
    assert refreshed["state"] == "ready"
    assert PipelineRun.objects.filter(user__login=login).count() == 2
    requests_after = _pipeline_requests(sim)
    changed = {k: requests_after[k] - requests_before[k] for k in PIPELINE_KINDS}
    assert {k for k, n in changed.items() if n} == {"git"}, changed
    assert sim.stats()["graphql_points"] == points_before
    activity_item = next(i for i in refreshed["items"] if i["step"] == "user_activity")
    assert activity_item["status"] == "succeeded"
    output = activity_item["output"]
    assert output["repos_scanned"] == 0
    assert output["repos_unchanged"] + output["repos_skipped"] == output["repos"]
    assert sum(sim.stats()["llm_calls"].values()) == llm_before


def test_ghost_then_login_activates_with_data(api, sim, pipe_worker):
    login = "bram-okafor"
    created = api.post(f"/ghost-users/{login}")
    assert created.status_code == 201
    assert wait_finished(api, login)["state"] == "ready"
    assert _data(api, login)["user"]["is_ghost"] is True
    assert api.post(f"/ghost-users/{login}").status_code == 409
    body = _login(api, login)
    assert body == {"ok": True, "status": "activated", "processing": False, "data_ready": True}
    data = _data(api, login)
    assert data["user"]["is_ghost"] is False and data["highlighted_repos"]


def test_restart_from_step_and_full_restart(api, sim, pipe_worker):
    login = "chen-wei"
    _login(api, login, own_token(login))
    assert wait_finished(api, login)["state"] == "ready"
    before = {(i["step"], i["repo"]): i for i in progress(api, login)["items"]}

    response = api.post(f"/users/{login}/restart?from=repo_kind")
    assert response.status_code == 202
    run_id = response.json()["run_id"]
    after = wait_finished(api, login)
    assert after["state"] == "ready" and after["run"]["id"] == run_id
    for item in after["items"]:
        old = before[(item["step"], item["repo"])]
        if item["step"] == "repo_kind":
            assert item["run_id"] == run_id and item["finished_at"] != old["finished_at"]
        else:
            assert item["finished_at"] == old["finished_at"], item["step"]
    assert all(r["kind"] for r in _data(api, login)["highlighted_repos"])

    response = api.post(f"/users/{login}/restart")
    assert response.status_code == 202
    final = wait_finished(api, login)
    assert final["state"] == "ready"
    assert all(i["run_id"] == response.json()["run_id"] for i in final["items"])
    data = _data(api, login)
    assert data["highlighted_repos"] and all(r["blurb"] for r in data["highlighted_repos"])


def test_no_such_github_user_stops_after_profile(api, sim, pipe_worker):
    login = "no-such-person-42"
    _login(api, login)
    body = wait_finished(api, login)
    assert body["state"] == "failed"
    assert body["message"] == "no such GitHub user"
    steps = {i["step"]: i for i in body["items"]}
    assert steps["fetch_profile"]["status"] == "failed"
    assert {steps[s]["status"] for s in ("fetch_repos", "select_highlights", "user_theme")} == {
        "skipped"
    }
    assert _data(api, login)["repos"] is None


def test_delete_while_running_leaves_nothing_behind(api, sim, pipe_worker):
    login = "dana-kowalski"
    # A ghost: no star-graph sync joins in, so every row left would be the pipeline's.
    assert api.post(f"/ghost-users/{login}").status_code == 201

    def busy():
        items = progress(api, login)["items"]
        return any(i["status"] == "running" for i in items) or any(
            i["step"] == "fetch_repos" and i["status"] == "succeeded" for i in items
        )

    wait_until(busy, timeout=60, interval=0.05)
    assert api.delete(f"/users/{login}").status_code == 200

    clean_polls = []

    def stays_clean():
        clean = (
            not GitHubUser.objects.exists()
            and not WorkItem.objects.exists()
            and not PipelineRun.objects.exists()
            and not UserRepo.objects.exists()
            and not Repo.objects.exists()
            and not GalleryImage.objects.exists()
        )
        clean_polls.append(clean)
        return len(clean_polls) >= 20 and all(clean_polls[-20:])

    wait_until(stays_clean, timeout=60, interval=0.25)
    assert api.get(f"/users/{login}/progress").status_code == 404
    log = pipe_worker.log_path.read_text()
    assert "Traceback" not in log
    assert "users.step_failed" not in log


def test_rate_limit_mid_run_waits_and_completes(api, sim, pipe_worker):
    login = "eli-navarro"
    # Every token may make 20 requests and spend 5 GraphQL points per 20-second window:
    # each step fits in a window, the whole run (about 7 points) does not. The account's
    # own token is stored first and the run begun with `start`, so whichever worker takes
    # the steps uses that token, and no star-graph sync competes for its budget.
    sim.configure(rate_limit=20, graphql_limit=5, rate_window=20)
    GitHubUser.objects.create(
        login=login, state="active", token_encrypted=token_encrypt(own_token(login))
    )
    assert api.post(f"/users/{login}/start").status_code == 202
    seen_waiting = []

    def finished():
        from users import engine

        engine.pipeline_sweep()  # what beat does every minute
        body = progress(api, login)
        if body["state"] == "waiting":
            seen_waiting.append(body)
        return body if body["state"] in ("ready", "failed") else None

    final = wait_until(finished, timeout=240, interval=0.5)
    assert seen_waiting, "the run never reported its rate-limit wait"
    assert seen_waiting[0]["rate_limited_until"]
    assert final["state"] == "ready", final
    data = _data(api, login)
    assert data["repos"] and data["highlighted_repos"]
    assert all(r["blurb"] for r in data["highlighted_repos"])
    assert any(i["attempts"] > 1 for i in final["items"])


def test_sweep_recovers_a_run_whose_messages_were_lost(api, sim, pipe_worker):
    from datetime import timedelta

    from django.utils import timezone

    from users import engine, services

    login = "jade-osei"
    GitHubUser.objects.create(
        login=login, state="active", token_encrypted=token_encrypt(own_token(login))
    )
    # A run recorded but never enqueued: what a flushed Redis leaves behind.
    run = services.run_create_for_command(login=login)
    PipelineRun.objects.filter(id=run.id).update(created_at=timezone.now() - timedelta(minutes=10))
    assert progress(api, login)["state"] == "queued"
    assert engine.pipeline_sweep()["runs_advanced"] == 1
    final = wait_finished(api, login, sweep=True)
    assert final["state"] == "ready" and final["run"]["id"] == run.id
    assert _data(api, login)["highlighted_repos"]


def test_llm_worker_down_the_profile_completes_with_fallbacks(api, sim, worker_factory, llm_worker):
    """With no LLM worker, each call gives up after its wait (no retries behind a dead
    worker) and the step's heuristic answers; the profile still becomes ready."""
    worker_factory(
        env={
            "GITHUB_TOKENS": f"pipe-pool-{uuid.uuid4().hex[:8]}",
            "LLM_TIMEOUT_SECONDS": "2",
            "LLM_QUEUE_WAIT_SECONDS": "1",
        },
        concurrency=4,
    )
    llm_worker.kill()
    llm_before = sum(sim.stats()["llm_calls"].values())
    login = "bram-okafor"
    _login(api, login, own_token(login))
    after = wait_finished(api, login)
    assert after["state"] == "ready", after
    llm_steps = {"select_highlights", "repo_blurb", "repo_kind", "user_theme"}
    outputs = [i["output"] for i in after["items"] if i["step"] in llm_steps]
    assert outputs and {o.get("source") for o in outputs} == {"fallback"}
    data = _data(api, login)
    assert data["theme"] and 1 <= len(data["highlighted_repos"]) <= 5
    assert all(repo["blurb"] for repo in data["highlighted_repos"])
    assert sum(sim.stats()["llm_calls"].values()) == llm_before
