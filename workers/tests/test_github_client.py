"""The GitHub gateway against the simulator: data, pagination, conditional requests,
typed errors and transient retries."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from ghsim.testing import SimulatorProcess
from ghsim.util import h64
from workers.github import errors as gh_errors
from workers.github import github, memo
from workers.github.client import GitHubGateway
from workers.tests.gh_helpers import clear_gateway_cache, gateway, new_token


@pytest.fixture(scope="module")
def sim():
    with SimulatorProcess(seed=1) as process:
        yield process


@pytest.fixture(autouse=True)
def _fresh(sim):
    sim.reset()
    clear_gateway_cache()
    yield
    sim.reset()


def test_profile_endpoints_return_github_shaped_data(sim):
    gw = gateway(sim)
    user = gw.user("avery-lin")
    assert user["login"] == "avery-lin"
    repos = gw.user_repos("avery-lin", limit=30)
    assert len(repos) == 12
    pushed = [r["pushed_at"] for r in repos]
    assert pushed == sorted(pushed, reverse=True)
    main = repos[0]["full_name"]
    assert gw.repo(main)["full_name"] == main
    assert gw.languages(main)
    assert 1 <= len(gw.branches(main, limit=10)) <= 10
    assert gw.readme(main).startswith("#")
    history = gw.star_history(main)
    assert all(set(row) == {"date", "count"} for row in history)


def test_readme_absent_is_none_and_unknown_user_is_not_found(sim):
    gw = gateway(sim)
    names = [r["full_name"] for r in gw.user_repos("avery-lin", limit=30)]
    noreadme = next(n for n in names if n.endswith("noreadme"))
    assert gw.readme(noreadme) is None
    with pytest.raises(gh_errors.NotFound):
        gw.user("no-such-user-here")
    with pytest.raises(gh_errors.NotFound):
        gw.repo("avery-lin/no-such-repo")


def test_commits_follow_link_pagination_and_empty_repository_raises(sim):
    gw = gateway(sim)
    names = [r["full_name"] for r in gw.user_repos("avery-lin", limit=30)]
    main = names[0]
    everything = gw.commits(main)
    assert len(everything) > 30
    assert len({c["sha"] for c in everything}) == len(everything)
    assert gw.commits(main, limit=7) == everything[:7]
    requests_before = sim.stats()["by_kind"]["commits"]
    gw.commits(main, limit=150)
    # per_page=100: a list of fewer than 100 commits is one request.
    assert sim.stats()["by_kind"]["commits"] - requests_before == (len(everything) + 99) // 100
    with pytest.raises(gh_errors.EmptyRepository):
        gw.commits(next(n for n in names if n.endswith("-empty")))


def test_commit_files_are_merged_across_pages(sim):
    gw = gateway(sim)
    # Some world users' second repos hold a 321-file vendoring commit (300 files per page).
    for login in ("avery-lin", "bram-okafor", "chen-wei", "dana-kowalski"):
        for repo in gw.user_repos(login, limit=30):
            for commit in gw.commits(repo["full_name"], limit=60):
                detail = gw.commit(repo["full_name"], commit["sha"])
                if len(detail["files"]) > 300:
                    names = [f["filename"] for f in detail["files"]]
                    assert len(set(names)) == len(names) == 321
                    return
    pytest.fail("no commit with more than 300 files found")


def test_starred_and_stargazer_pages_are_star_json_and_follow_next(sim):
    gw = gateway(sim)
    page = gw.starred_page("avery-lin")
    assert page.items and set(page.items[0]) == {"starred_at", "repo"}
    assert "per_page=100" in page.url

    repo = max((i["repo"] for i in page.items), key=lambda r: r["stargazers_count"])
    assert repo["stargazers_count"] > 200
    first = gw.stargazers_page(repo["full_name"])
    assert first.page_number == 1 and first.etag and first.next_url
    assert len(first.items) == 100
    assert set(first.items[0]) == {"starred_at", "user"}
    second = gw.stargazers_page(repo["full_name"], url=first.next_url)
    assert second.page_number == 2
    first_logins = {i["user"]["login"] for i in first.items}
    assert first_logins.isdisjoint({i["user"]["login"] for i in second.items})


def test_stargazer_etag_gives_not_modified_without_budget(sim):
    token = new_token()
    gw = gateway(sim, tokens=[token])
    repo = gw.starred_page("avery-lin").items[0]["repo"]["full_name"]
    first = gw.stargazers_page(repo)
    again = gw.stargazers_page(repo, url=first.url, etag=first.etag)
    assert again.not_modified and again.items == [] and again.etag == first.etag
    stats = sim.stats()
    assert stats["not_modified"] == 1
    assert stats["max_used"][f"token:{token}"]["core"] == 2  # starred + stargazers, not the 304
    assert gw.limits.budget(token).sent_last_hour == 2


def test_conditional_cache_reuses_body_on_304_without_budget(sim):
    token = new_token()
    gw = gateway(sim, tokens=[token])
    first = gw.user("avery-lin")
    second = gw.user("avery-lin")
    assert first == second
    stats = sim.stats()
    assert stats["by_token"][token] == 2
    assert stats["not_modified"] == 1
    assert stats["max_used"][f"token:{token}"]["core"] == 1
    assert gw.limits.budget(token).sent_last_hour == 1


def test_star_history_follows_every_page(sim):
    from ghsim.world import World

    world = World(seed=1)
    repo = max(world.catalog[:200], key=lambda r: len(world.star_history(r)))
    truth = world.star_history(repo)
    assert len(truth) > 100  # more than one page of days

    history = gateway(sim).star_history(repo.full_name)

    assert history == truth


def test_stargazer_page_cap_is_pagination_limit(sim):
    gw = gateway(sim)
    repo = gw.starred_page("avery-lin").items[0]["repo"]["full_name"]
    past_cap = gw.url(f"/repos/{repo}/stargazers", {"per_page": 100, "page": 401})
    with pytest.raises(gh_errors.PaginationLimit):
        gw.stargazers_page(repo, url=past_cap)


@pytest.mark.parametrize("mode", ["404", "403", "empty"])
def test_restricted_stargazers(sim, mode):
    sim.configure(restrict_stargazers=True, restricted_response=mode)
    gw = gateway(sim, tokens=[new_token("bram-okafor")])
    repo = gw.user_repos("avery-lin", limit=1)[0]
    with pytest.raises(gh_errors.StargazersRestricted):
        gw.stargazers_page(repo["full_name"], expected_stars=max(1, repo["stargazers_count"]))
    # The owner's own token may list them.
    own = gateway(sim, tokens=[new_token("avery-lin")])
    page = own.stargazers_page(repo["full_name"], expected_stars=repo["stargazers_count"])
    assert len(page.items) == min(100, repo["stargazers_count"])


def test_graphql_contributions_in_a_window(sim):
    gw = gateway(sim)
    assert gw.graphql_url == sim.graphql_url
    until = datetime.now(UTC)
    rows = gw.contributions("avery-lin", since=until - timedelta(days=365), until=until)
    assert rows and all(
        set(r) == {"full_name", "is_private", "commits", "pull_requests"} for r in rows
    )
    assert any(r["full_name"].startswith("bram-okafor/") and r["commits"] > 0 for r in rows)
    assert sim.stats()["by_kind"]["graphql"] == 1
    with pytest.raises(gh_errors.NotFound):
        gw.contributions("no-such-user-here", since=until - timedelta(days=30), until=until)
    with pytest.raises(ValueError):
        gw.contributions("avery-lin", since=until - timedelta(days=400), until=until)


def test_graphql_url_follows_the_api_layout():
    kwargs = {"web_url": "https://github.com", "tokens": [], "requests_per_hour": 10}
    from django.conf import settings

    kwargs["redis_url"] = settings.REDIS_URL
    assert (
        GitHubGateway(api_url="https://api.github.com", **kwargs).graphql_url
        == "https://api.github.com/graphql"
    )
    assert (
        GitHubGateway(api_url="http://ghe.local/api/v3", **kwargs).graphql_url
        == "http://ghe.local/api/graphql"
    )


def _fault_seed(rate: float, draws: int) -> int:
    """A fault seed whose first draws fail sometimes but never 4 times in a row."""
    for seed in range(500):
        fails = [h64("fault", seed, n) / 2**64 < rate for n in range(draws)]
        runs = "".join("x" if f else "." for f in fails)
        if any(fails[:3]) and "xxxx" not in runs:
            return seed
    raise AssertionError("no suitable seed")


def test_transient_errors_are_asked_again_within_the_call(sim):
    """Half the answers are 502s, never four in a row: every call answers, each failed
    attempt was sent again, and every attempt took its own slot of the budget."""
    seed = _fault_seed(0.5, 80)
    sim.configure(faults={"error_rate": 0.5, "error_status": 502, "seed": seed})
    token = new_token()
    gw = gateway(sim, tokens=[token])
    waits: list[float] = []
    gw.sleep = waits.append
    names = ("avery-lin", "bram-okafor", "chen-wei", "dana-kowalski") * 3
    for name in names:
        assert gw.get_json(f"/users/{name}", cache=False)["login"] == name
    stats = sim.stats()
    assert stats["faults"]["error"] == len(waits) >= 1
    assert stats["by_token"][token] == len(names) + len(waits)
    assert gw.limits.budget(token).sent_last_hour == len(names) + len(waits)


def test_transient_errors_end_in_transient_after_the_bounded_retries(sim):
    sim.configure(faults={"error_rate": 1.0, "error_status": 503})
    gw = gateway(sim, retries=3, retry_backoff=1.0)
    waits: list[float] = []
    gw.sleep = waits.append
    with pytest.raises(gh_errors.Transient) as caught:
        gw.user("avery-lin")
    assert "503" in str(caught.value)
    assert sim.stats()["faults"]["error"] == 4
    # About 1, 3 and 9 seconds: growing, each jittered within a quarter.
    for wait, nominal in zip(waits, (1, 3, 9), strict=True):
        assert 0.75 * nominal <= wait <= 1.25 * nominal


def test_dropped_connections_are_asked_again_then_transient(sim):
    sim.configure(faults={"drop_rate": 1.0})
    gw = gateway(sim, retries=2)
    gw.sleep = lambda seconds: None
    with pytest.raises(gh_errors.Transient):
        gw.user("avery-lin")
    assert sim.stats()["faults"]["drop"] == 3


def test_permanent_answers_are_never_asked_again(sim):
    gw = gateway(sim)
    gw.sleep = lambda seconds: pytest.fail("a 4xx was retried")
    with pytest.raises(gh_errors.NotFound):
        gw.user("nobody-by-this-name")
    assert sim.stats()["by_status"]["404"] == 1


def test_a_short_secondary_limit_is_waited_within_the_call(sim):
    sim.configure(secondary={"mode": "next", "count": 1, "retry_after": 1, "status": 403})
    gw = gateway(sim)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    gw.sleep = sleep
    assert gw.user("avery-lin")["login"] == "avery-lin"
    assert sim.stats()["secondary_limited"] == 1
    assert len(waits) == 1 and 1 <= waits[0] <= 2


def test_answers_are_kept_for_the_retries_of_one_scope(sim):
    gw = gateway(sim)
    scope = f"test:{new_token()}"
    with memo.responses_kept(scope):
        first = gw.repo(gw.user_repos("avery-lin", limit=1)[0]["full_name"])
        sent = sim.stats()["requests_total"]
        again = gw.repo(first["full_name"])
        assert sim.stats()["requests_total"] == sent
    assert again == first
    gw.repo(first["full_name"])  # outside the scope: sent
    assert sim.stats()["requests_total"] == sent + 1
    gw.memo.drop(scope)
    with memo.responses_kept(scope):
        gw.repo(first["full_name"])
    assert sim.stats()["requests_total"] == sent + 2


def test_a_graphql_answer_with_errors_is_asked_again_within_the_scope(sim):
    gw = gateway(sim)
    query = "query($login: String!) { user(login: $login) { login } }"
    with memo.responses_kept(f"test:{new_token()}"):
        assert gw.graphql(query, {"login": "avery-lin"})["user"]["login"] == "avery-lin"
        sent = sim.stats()["requests_total"]
        gw.graphql(query, {"login": "avery-lin"})  # kept: not sent again
        assert sim.stats()["requests_total"] == sent
        for _ in range(2):  # an answer with errors is never replayed from the scope
            with pytest.raises(gh_errors.NotFound):
                gw.graphql(query, {"login": "nobody-by-this-name"})
        assert sim.stats()["requests_total"] == sent + 2


def test_bad_credentials_is_typed_and_never_names_the_token(sim):
    gw = gateway(sim)
    secret = new_token()
    try:
        gw.graphql("query { viewer { login } }", {}, token=None)
    except gh_errors.GitHubError as exc:
        assert secret not in str(exc)
    no_tokens = gateway(sim, tokens=[])
    with pytest.raises(gh_errors.BadCredentials):
        no_tokens.contributions(
            "avery-lin", since=datetime.now(UTC) - timedelta(days=1), until=datetime.now(UTC)
        )


def test_process_gateway_follows_settings(sim, settings):
    settings.GITHUB_API_URL = sim.api_url
    settings.GITHUB_WEB_URL = sim.web_url
    settings.GITHUB_TOKENS = [new_token()]
    gw = github()
    assert gw is github()
    assert gw.api_url == sim.api_url and gw.tokens == settings.GITHUB_TOKENS
    assert gw.user("chen-wei")["login"] == "chen-wei"
    settings.GITHUB_TOKENS = [new_token()]
    assert github() is not gw


class _Stub(BaseHTTPRequestHandler):
    """GitHub answers the simulator has no mode for (blocked repos, bad JSON)."""

    routes = {
        "/api/v3/repos/a/dmca": (451, b'{"message": "Repository access blocked"}'),
        "/api/v3/repos/a/tos": (403, b'{"message": "Repository access blocked"}'),
        "/api/v3/repos/a/creds": (401, b'{"message": "Bad credentials"}'),
        "/api/v3/repos/a/html": (200, b"<html>proxy says hi</html>"),
        "/api/v3/repos/a/busy": (503, b'{"message": "busy"}'),
        "/api/v3/repos/a/closed": (503, b'{"message": "closed for the night"}'),
    }
    retry_after = {"/api/v3/repos/a/busy": "2", "/api/v3/repos/a/closed": "3600"}

    def do_GET(self):
        status, body = self.routes.get(self.path, (404, b'{"message": "Not Found"}'))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (("limit", 5000), ("remaining", 4000), ("used", 1000)):
            self.send_header(f"x-ratelimit-{name}", str(value))
        self.send_header("x-ratelimit-reset", str(int(datetime.now(UTC).timestamp()) + 600))
        if self.path in self.retry_after:
            self.send_header("Retry-After", self.retry_after[self.path])
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def stub():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield SimpleNamespace(api_url=base + "/api/v3", web_url=base)
    server.shutdown()
    server.server_close()


def test_blocked_bad_credentials_and_non_json_are_typed(stub):
    gw = gateway(stub)
    with pytest.raises(gh_errors.Blocked):
        gw.repo("a/dmca")
    with pytest.raises(gh_errors.Blocked):
        gw.repo("a/tos")
    with pytest.raises(gh_errors.BadCredentials):
        gw.repo("a/creds")
    with pytest.raises(gh_errors.Transient):
        gw.repo("a/html")


def test_retry_after_of_a_5xx_is_honoured_or_left_to_the_caller(stub):
    gw = gateway(stub, retries=2)
    waits: list[float] = []
    gw.sleep = waits.append
    with pytest.raises(gh_errors.Transient):
        gw.repo("a/busy")
    assert waits == [2.0, 2.0]
    waits.clear()
    with pytest.raises(gh_errors.Transient) as caught:
        gw.repo("a/closed")
    assert waits == [] and caught.value.retry_after == 3600
