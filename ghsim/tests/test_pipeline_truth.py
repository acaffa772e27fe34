"""The highlight-nominee truth agrees with what a client following the highlight
rules computes from the API alone."""

from __future__ import annotations

import time

from ghsim.tests.conftest import tok

H = tok("chen-wei", "pipeline")
QUERY = (
    "query($login:String!){user(login:$login){contributionsCollection{"
    "commitContributionsByRepository(maxRepositories:100){repository{nameWithOwner}} "
    "pullRequestContributionsByRepository(maxRepositories:100){repository{nameWithOwner}}}}}"
)


def _days(http, api, full, login):
    br = http.get(f"{api}/repos/{full}/branches", headers=H)
    if br.status_code != 200:
        return 0
    days = set()
    for b in br.json()[:10]:
        r = http.get(
            f"{api}/repos/{full}/commits",
            params={"author": login, "sha": b["name"], "per_page": 100},
            headers=H,
        )
        if r.status_code == 200:
            days |= {c["commit"]["author"]["date"][:10] for c in r.json()}
    return len(days)


def test_nominees_from_api_match_truth(fresh, http):
    api = fresh.api_url
    cutoff = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 730 * 86400))
    for login in fresh.world.world_logins[:2]:
        repos = http.get(
            f"{api}/users/{login}/repos", params={"sort": "pushed", "per_page": 30}, headers=H
        ).json()
        linked = {}
        for r in repos:
            if not r["language"] or r["pushed_at"] < cutoff:
                continue
            n = _days(http, api, r["full_name"], login)
            if not r["fork"]:
                linked[r["full_name"]] = ("owned", n)
            elif n >= 4:
                linked[r["full_name"]] = ("fork_active", n)
        g = http.post(
            fresh.graphql_url, json={"query": QUERY, "variables": {"login": login}}, headers=H
        ).json()
        cc = g["data"]["user"]["contributionsCollection"]
        items = cc["commitContributionsByRepository"] + cc["pullRequestContributionsByRepository"]
        for item in items:
            full = item["repository"]["nameWithOwner"]
            if full in linked or full.split("/")[0] == login:
                continue
            meta = http.get(f"{api}/repos/{full}", headers=H).json()
            if not meta["language"] or meta["pushed_at"] < cutoff:
                continue
            n = _days(http, api, full, login)
            if n >= 4:
                linked[full] = ("contributed", n)
        truth = fresh.truth(f"users/{login}/highlight-nominees")
        assert {
            x["full_name"]: (x["include_reason"], x["commit_days"]) for x in truth["linked"]
        } == linked
        nominees = sorted(
            f
            for f, (_, n) in linked.items()
            if n >= 4 and http.get(f"{api}/repos/{f}/readme", headers=H).status_code == 200
        )
        assert nominees == sorted(x["full_name"] for x in truth["nominees"])
