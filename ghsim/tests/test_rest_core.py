from __future__ import annotations

import re

from ghsim.tests.conftest import tok
from ghsim.world import World

STAR = {"Accept": "application/vnd.github.star+json"}


def links(resp) -> dict:
    out = {}
    for part in resp.headers.get("Link", "").split(","):
        m = re.search(r"<([^>]+)>;\s*rel=\"(\w+)\"", part)
        if m:
            out[m.group(2)] = m.group(1)
    return out


def test_user_payload(fresh, http):
    r = http.get(fresh.api_url + "/users/avery-lin", headers=tok())
    assert r.status_code == 200
    u = r.json()
    for key, typ in [
        ("login", str),
        ("id", int),
        ("node_id", str),
        ("avatar_url", str),
        ("html_url", str),
        ("type", str),
        ("public_repos", int),
        ("followers", int),
        ("following", int),
        ("created_at", str),
        ("updated_at", str),
        ("blog", str),
    ]:
        assert isinstance(u[key], typ), key
    assert u["email"] is None
    assert u["type"] == "User"
    assert r.headers["ETag"].startswith('W/"')
    blogs = {x["login"]: x["blog"] for x in fresh.truth("users")}
    assert "" in blogs.values()
    assert any(b.startswith("//") for b in blogs.values())
    assert any(b and "://" not in b and not b.startswith("//") for b in blogs.values())


def test_unknown_user_404(fresh, http):
    r = http.get(fresh.api_url + "/users/no-such-person-here")
    assert r.status_code == 404
    assert r.json()["message"] == "Not Found"
    assert "documentation_url" in r.json()


def test_load_user_repo_counts(fresh, http):
    for n in (10, 100):
        r = http.get(fresh.api_url + f"/users/load-{n}r-1", headers=tok())
        assert r.json()["public_repos"] == n
    r = http.get(fresh.api_url + "/users/load-100r-1/repos?per_page=100", headers=tok())
    assert len(r.json()) == 100
    assert "Link" not in r.headers


def test_repo_payload_and_fork(fresh, http):
    w: World = fresh.world
    fork = next(r for r in w.all_world_repos() if r.fork)
    r = http.get(fresh.api_url + f"/repos/{fork.full_name}", headers=tok())
    d = r.json()
    assert d["fork"] is True
    assert d["parent"]["full_name"] == fork.parent
    assert "source" in d
    for key in (
        "id",
        "node_id",
        "name",
        "full_name",
        "private",
        "owner",
        "html_url",
        "description",
        "url",
        "created_at",
        "updated_at",
        "pushed_at",
        "homepage",
        "size",
        "stargazers_count",
        "watchers_count",
        "language",
        "forks_count",
        "archived",
        "disabled",
        "open_issues_count",
        "topics",
        "default_branch",
        "visibility",
    ):
        assert key in d, key
    assert set(d["owner"]) >= {"login", "id", "avatar_url", "html_url", "type"}


def test_user_repos_pagination_and_sort(fresh, http):
    r = http.get(fresh.api_url + "/users/load-100r-2/repos?per_page=30&sort=pushed", headers=tok())
    assert r.status_code == 200
    lk = links(r)
    assert set(lk) == {"next", "last"}
    assert lk["last"].endswith("page=4")
    pushed = [x["pushed_at"] for x in r.json()]
    assert pushed == sorted(pushed, reverse=True)
    r2 = http.get(lk["next"], headers=tok())
    assert set(links(r2)) == {"prev", "next", "last", "first"}


def test_stargazers_match_truth_and_starred(fresh, http):
    w: World = fresh.world
    repo = w.all_world_repos()[0]
    truth = fresh.truth(f"repos/{repo.full_name}/stargazers")
    got = []
    url = fresh.api_url + f"/repos/{repo.full_name}/stargazers?per_page=100"
    while url:
        r = http.get(url, headers={**STAR, **tok(repo.owner)})
        assert r.status_code == 200
        got += [(x["user"]["login"], x["starred_at"]) for x in r.json()]
        url = links(r).get("next")
    assert got == [(x["login"], x["starred_at"]) for x in truth["stargazers"]]
    times = [t for _, t in got]
    assert times == sorted(times) and len(set(times)) == len(times)
    # every stargazer's starred list contains the repo with the same starred_at
    for login, at in got[:5] + [g for g in got if g[0] in w.world_logins]:
        items = http.get(
            fresh.api_url + f"/users/{login}/starred?per_page=100", headers={**STAR, **tok()}
        ).json()
        match = [x for x in items if x["repo"]["full_name"] == repo.full_name]
        assert match and match[0]["starred_at"] == at


def test_plain_stargazers_are_users(fresh, http):
    repo = fresh.world.catalog[20]
    r = http.get(fresh.api_url + f"/repos/{repo.full_name}/stargazers", headers=tok())
    assert r.status_code == 200
    assert "login" in r.json()[0] and "starred_at" not in r.json()[0]


def test_world_users_starred_overlap(fresh):
    w: World = fresh.world
    a = {r.full_name for r, _ in w.starred(w.world_logins[0])}
    b = {r.full_name for r, _ in w.starred(w.world_logins[1])}
    assert len(a & b) >= 3


def test_page_cap_422(fresh, http):
    repo = fresh.world.catalog[0]
    assert repo.stars > 40000
    r = http.get(
        fresh.api_url + f"/repos/{repo.full_name}/stargazers?per_page=100&page=400", headers=tok()
    )
    assert r.status_code == 200 and len(r.json()) == 100
    assert "next" not in links(r)
    r = http.get(
        fresh.api_url + f"/repos/{repo.full_name}/stargazers?per_page=100&page=401", headers=tok()
    )
    assert r.status_code == 422
    assert r.json()["message"].startswith(
        "In order to keep the API fast for everyone, pagination is limited"
    )


def test_stargazer_history(fresh, http):
    repo = fresh.world.catalog[30]
    r = http.get(
        fresh.api_url + f"/repos/{repo.full_name}/stargazers/history?per_page=100", headers=tok()
    )
    assert r.status_code == 200
    rows = r.json()
    assert rows and set(rows[0]) == {"date", "count"}
    total = sum(x["count"] for x in fresh.world.star_history(repo))
    assert total == repo.stars


def test_starred_user_lists_not_capped_and_consistent(fresh, http):
    w: World = fresh.world
    login = w.world_logins[3]
    r = http.get(
        fresh.api_url + f"/users/{login}/starred?per_page=10&page=2", headers={**STAR, **tok()}
    )
    assert r.status_code == 200 and len(r.json()) == 10
    t = fresh.truth(f"users/{login}/starred")
    assert [x["repo"]["full_name"] for x in r.json()] == [
        x["full_name"] for x in t["starred"][10:20]
    ]


def test_determinism():
    a, b = World(seed=7), World(seed=7)
    ra, rb = a.catalog[3], b.catalog[3]
    assert a.stargazers_page(ra, 100, 200) == b.stargazers_page(rb, 100, 200)
    assert a.truth_users() == b.truth_users()
    assert (
        World(seed=8).truth_users() != a.truth_users() or World(seed=8).catalog[3].name != ra.name
    )


def test_bench_repos(fresh, http):
    d = http.get(fresh.base_url + "/_sim/bench-repos?total_edges=200000").json()
    assert d["total_edges"] >= 200000
    assert all(x["stargazers_count"] <= 40000 for x in d["repos"])
    full = d["repos"][0]["full_name"]
    r = http.get(fresh.api_url + f"/repos/{full}", headers=tok())
    assert r.json()["stargazers_count"] == d["repos"][0]["stargazers_count"]


def test_truth_slice_for_huge_repo(fresh, http):
    repo = fresh.world.catalog[0]
    t = fresh.truth(f"repos/{repo.full_name}/stargazers", start=39900, stop=40000)
    assert len(t["stargazers"]) == 100
    r = http.get(
        fresh.api_url + f"/repos/{repo.full_name}/stargazers?per_page=100&page=400",
        headers={**STAR, **tok()},
    )
    assert [x["user"]["login"] for x in r.json()] == [x["login"] for x in t["stargazers"]]


def test_authenticated_user(fresh, http):
    r = http.get(fresh.api_url + "/user", headers=tok("hana-sato", "me"))
    assert r.json()["login"] == "hana-sato"
    r = http.get(fresh.api_url + "/user", headers={"Authorization": "Bearer pool-token-1"})
    login = r.json()["login"]
    assert login.startswith("ghsim-server-")
    assert http.get(fresh.api_url + f"/users/{login}", headers=tok()).status_code == 200
    assert http.get(fresh.api_url + "/user").status_code == 401
    mine = http.get(fresh.api_url + "/user/starred?per_page=5", headers=tok("hana-sato", "me"))
    theirs = http.get(fresh.api_url + "/users/hana-sato/starred?per_page=5", headers=tok())
    assert mine.json() == theirs.json()
