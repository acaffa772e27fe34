from __future__ import annotations

import time

from ghsim.tests.conftest import tok


def test_headers_and_exhaustion_then_reset(fresh, http):
    fresh.configure(rate_limit=5, rate_window=1.5)
    h = tok("bram-okafor", "exhaust")
    seen = []
    for _ in range(5):
        r = http.get(fresh.api_url + "/users/avery-lin", headers=h)
        assert r.status_code == 200
        seen.append(int(r.headers["x-ratelimit-remaining"]))
        assert r.headers["x-ratelimit-resource"] == "core"
        assert int(r.headers["x-ratelimit-limit"]) == 5
    assert seen == [4, 3, 2, 1, 0]
    r = http.get(fresh.api_url + "/users/avery-lin", headers=h)
    assert r.status_code == 403
    assert r.headers["x-ratelimit-remaining"] == "0"
    assert r.json()["message"].startswith("API rate limit exceeded for user ID")
    # /rate_limit is free and still answers
    rl = http.get(fresh.api_url + "/rate_limit", headers=h).json()
    assert rl["resources"]["core"]["remaining"] == 0
    assert set(rl["resources"]) >= {"core", "search", "graphql"} and "rate" in rl
    reset = int(r.headers["x-ratelimit-reset"])
    time.sleep(max(0.0, reset - time.time()) + 0.1)
    r = http.get(fresh.api_url + "/users/avery-lin", headers=h)
    assert r.status_code == 200 and r.headers["x-ratelimit-remaining"] == "4"
    st = fresh.stats()
    assert st["max_used"]["token:sim_bram-okafor_exhaust"]["core"] == 5


def test_429_configurable(fresh, http):
    fresh.configure(rate_limit=1, primary_status=429)
    h = tok("chen-wei", "429")
    assert http.get(fresh.api_url + "/users/chen-wei", headers=h).status_code == 200
    r = http.get(fresh.api_url + "/users/chen-wei", headers=h)
    assert r.status_code == 429 and r.headers["x-ratelimit-remaining"] == "0"


def test_304_is_free_when_authenticated(fresh, http):
    h = tok("dana-kowalski", "etag")
    r = http.get(fresh.api_url + "/users/dana-kowalski", headers=h)
    etag = r.headers["ETag"]
    used = int(r.headers["x-ratelimit-used"])
    for _ in range(3):
        r2 = http.get(fresh.api_url + "/users/dana-kowalski", headers={**h, "If-None-Match": etag})
        assert r2.status_code == 304
        assert int(r2.headers["x-ratelimit-used"]) == used
    assert fresh.stats()["not_modified"] >= 3


def test_unauthenticated_limit_60(fresh, http):
    r = http.get(fresh.api_url + "/users/avery-lin")
    assert r.headers["x-ratelimit-limit"] == "60"


def test_secondary_next_k(fresh, http):
    fresh.configure(
        secondary={"mode": "next", "token": "sim_eli-navarro_sec", "count": 2, "retry_after": 7}
    )
    h = tok("eli-navarro", "sec")
    other = http.get(fresh.api_url + "/users/avery-lin", headers=tok("eli-navarro", "other"))
    assert other.status_code == 200
    for _ in range(2):
        r = http.get(fresh.api_url + "/users/avery-lin", headers=h)
        assert r.status_code == 403
        assert r.headers["retry-after"] == "7"
        assert r.headers["x-ratelimit-remaining"] != "0"
        assert r.json()["message"].startswith("You have exceeded a secondary rate limit")
    assert http.get(fresh.api_url + "/users/avery-lin", headers=h).status_code == 200


def test_secondary_rps(fresh, http):
    fresh.configure(secondary={"mode": "rps", "rps": 3, "token": None})
    h = tok("farah-haddad", "rps")
    codes = [http.get(fresh.api_url + "/users/avery-lin", headers=h).status_code for _ in range(6)]
    assert codes[:3] == [200, 200, 200] and 403 in codes[3:]


def test_restriction_modes(fresh, http):
    w = fresh.world
    repo = w.all_world_repos()[0]
    url = fresh.api_url + f"/repos/{repo.full_name}/stargazers"
    fresh.configure(restrict_stargazers=True)
    assert http.get(url, headers=tok("nobody", "x")).status_code == 404
    assert http.get(url, headers={"Authorization": "Bearer server-token-1"}).status_code == 404
    assert http.get(url, headers=tok(repo.owner, "mine")).status_code == 200
    fresh.configure(restricted_response=403)
    assert http.get(url, headers={"Authorization": "token abc"}).status_code == 403
    fresh.configure(restricted_response="empty")
    r = http.get(url, headers={"Authorization": "token abc"})
    assert r.status_code == 200 and r.json() == []
    # history stays public
    assert http.get(url + "/history", headers={"Authorization": "token abc"}).status_code == 200
    fresh.configure(collaborators={repo.full_name: ["gus-muller"]}, restricted_response=404)
    assert http.get(url, headers=tok("gus-muller", "c")).status_code == 200


def test_world_flagged_restricted(fresh, http):
    repo = next(r for r in fresh.world.all_world_repos() if r.restricted)
    url = fresh.api_url + f"/repos/{repo.full_name}/stargazers"
    assert http.get(url, headers={"Authorization": "token other"}).status_code == 404
    assert http.get(url, headers=tok(repo.owner, "o")).status_code == 200


def test_faults_error_rate_deterministic(fresh, http):
    fresh.configure(faults={"error_rate": 0.5, "path_prefix": "/api/v3/users", "seed": 3})
    codes = [
        http.get(fresh.api_url + "/users/avery-lin", headers=tok()).status_code for _ in range(20)
    ]
    assert 502 in codes and 200 in codes
    fresh.reset()
    fresh.configure(faults={"error_rate": 0.5, "path_prefix": "/api/v3/users", "seed": 3})
    codes2 = [
        http.get(fresh.api_url + "/users/avery-lin", headers=tok()).status_code for _ in range(20)
    ]
    assert codes == codes2
    assert http.get(fresh.api_url + "/rate_limit").status_code == 200


def test_faults_path_pattern_picks_the_api_and_git_but_not_images(fresh, http):
    fresh.configure(faults={"error_rate": 1.0, "path_pattern": r"^/api/|\.git/"})
    repo = next(r for r in fresh.world.all_world_repos() if not r.restricted)
    assert http.get(fresh.api_url + "/users/avery-lin", headers=tok()).status_code == 502
    refs = f"{fresh.web_url}/{repo.full_name}.git/info/refs?service=git-upload-pack"
    assert http.get(refs).status_code == 502
    assert http.get(f"{fresh.web_url}/_img/40x30.png").status_code == 200
    assert (
        http.post(
            fresh.base_url + "/_sim/config", json={"faults": {"path_pattern": "("}}
        ).status_code
        == 400
    )


def test_faults_drop_and_slow(fresh, http):
    import requests

    fresh.configure(faults={"drop_rate": 1.0, "path_prefix": "/api/v3/users/hana-sato"})
    try:
        requests.get(fresh.api_url + "/users/hana-sato", timeout=5)
        raise AssertionError("expected a dropped connection")
    except requests.ConnectionError:
        pass
    fresh.configure(faults={"drop_rate": 0.0, "slow_ms": 300})
    t = time.monotonic()
    assert http.get(fresh.api_url + "/users/hana-sato").status_code == 200
    assert time.monotonic() - t >= 0.28
