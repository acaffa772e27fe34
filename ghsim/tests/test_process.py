from __future__ import annotations

import requests

from ghsim.testing import SimulatorProcess


def test_simulator_process_roundtrip():
    with SimulatorProcess(seed=2, rate_limit=50, restrict_stargazers=True) as sim:
        assert sim.api_url.endswith("/api/v3")
        assert sim.graphql_url.endswith("/api/graphql")
        assert sim.llm_base.endswith("/v1")
        r = requests.get(
            sim.api_url + "/users/avery-lin", headers={"Authorization": "token x"}, timeout=5
        )
        assert r.status_code == 200 and r.headers["x-ratelimit-limit"] == "50"
        assert sim.config()["restrict_stargazers"] is True
        sim.configure(rate_limit=7)
        assert sim.stats()["requests_total"] >= 1
        sim.reset()
        assert sim.config()["rate_limit"] == 50
        assert sim.truth("users")[0]["login"] == "avery-lin"
    assert sim.proc is None
