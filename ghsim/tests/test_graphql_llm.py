from __future__ import annotations

import json

import json_repair
import pytest

from ghsim.tests.conftest import tok

QUERY = """
query($login: String!, $from: DateTime, $to: DateTime) {
  user(login: $login) {
    contributionsCollection(from: $from, to: $to) {
      commitContributionsByRepository(maxRepositories: 100) {
        repository { nameWithOwner isPrivate name owner { login } }
        contributions { totalCount }
      }
      pullRequestContributionsByRepository(maxRepositories: 100) {
        repository { nameWithOwner isPrivate name owner { login } }
        contributions { totalCount }
      }
    }
  }
}
"""


def gql(sim, http, variables, query=QUERY, headers=None):
    return http.post(
        sim.graphql_url,
        json={"query": query, "variables": variables},
        headers=headers if headers is not None else tok("avery-lin", "gql"),
    )


def test_contributions_shape_and_other_repos(fresh, http):
    w = fresh.world
    login = w.world_logins[0]
    r = gql(fresh, http, {"login": login})
    assert r.status_code == 200
    assert r.headers["x-ratelimit-resource"] == "graphql"
    cc = r.json()["data"]["user"]["contributionsCollection"]
    commits = cc["commitContributionsByRepository"]
    item = commits[0]
    assert set(item["repository"]) == {"nameWithOwner", "isPrivate", "name", "owner"}
    assert item["contributions"]["totalCount"] > 0
    names = {x["repository"]["nameWithOwner"] for x in commits}
    others = {n for n in names if not n.startswith(login + "/")}
    assert others, "contributions in other users' repos"
    contributed = [r for r in w.all_world_repos() if login in r.contributors]
    assert {r.full_name for r in contributed} & others
    assert cc["pullRequestContributionsByRepository"]


def test_unknown_user_and_other_queries(fresh, http):
    r = gql(fresh, http, {"login": "no-such-user-zz"})
    body = r.json()
    assert body["data"] == {"user": None}
    assert body["errors"][0]["type"] == "NOT_FOUND"
    r = gql(fresh, http, {}, query="{ viewer { login noSuchField } }")
    assert r.status_code == 200 and r.json()["errors"] and "data" not in r.json()
    assert gql(fresh, http, {"login": "avery-lin"}, headers={}).status_code == 401


def chat(sim, http, task, body, **kw):
    return http.post(
        sim.llm_base + "/chat/completions",
        json={
            "model": "x",
            "messages": [
                {"role": "system", "content": f"task: {task}\nAnswer with JSON."},
                {"role": "user", "content": body},
            ],
            **kw,
        },
    )


NOMINEES = "name: alpha\nlanguage: Rust\n\nname: beta\nlanguage: Go\n\nname: gamma\n\nname: delta\n"


@pytest.mark.parametrize(
    "task,body,check",
    [
        (
            "select_highlights",
            NOMINEES,
            lambda d: d["repos"] == ["alpha", "beta", "gamma"] and d["theme"],
        ),
        ("user_theme", "bio: Rust dev", lambda d: isinstance(d["theme"], str) and d["theme"]),
        ("repo_blurb", "name: alpha\nlanguage: Rust\n", lambda d: "Rust" in d["blurb"]),
        ("repo_emphasis", "uses Django and Redis, Python", lambda d: 1 <= len(d["emphasis"]) <= 6),
        ("repo_keywords", "name: x", lambda d: 1 <= len(d["keywords"]) <= 4),
        ("repo_kind", "name: x", lambda d: 1 <= len(d["kind"].split()) <= 4),
        (
            "feed_judgments",
            "id: a1\nname: x\n\nid: b2\nname: y\n",
            lambda d: [j["id"] for j in d["judgments"]] == ["a1", "b2"],
        ),
        ("something_else", "hi", lambda d: d == {"answer": "ok"}),
    ],
)
def test_llm_tasks(fresh, http, task, body, check):
    r = chat(fresh, http, task, body)
    assert r.status_code == 200
    d = r.json()
    assert d["object"] == "chat.completion"
    assert d["choices"][0]["message"]["role"] == "assistant"
    assert d["choices"][0]["finish_reason"] == "stop"
    assert set(d["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    ans = json.loads(d["choices"][0]["message"]["content"])
    assert check(ans)
    again = chat(fresh, http, task, body).json()["choices"][0]["message"]["content"]
    assert again == d["choices"][0]["message"]["content"]
    assert fresh.stats()["llm_calls"][task] == 2
    assert fresh.stats()["llm_items"][task] == [body.count("id: ")] * 2


def test_llm_switches(fresh, http):
    fresh.configure(llm={"malformed": "repairable"})
    for _ in range(2):
        content = chat(fresh, http, "select_highlights", NOMINEES).json()["choices"][0]["message"][
            "content"
        ]
        with pytest.raises(json.JSONDecodeError):
            json.loads(content)
        fixed = json_repair.loads(content)
        assert fixed["repos"] == ["alpha", "beta", "gamma"]
    fresh.configure(llm={"malformed": "garbage"})
    content = chat(fresh, http, "repo_kind", "x").json()["choices"][0]["message"]["content"]
    assert "{" not in content
    fresh.configure(llm={"malformed": "missing"})
    body = "id: a1\n\nid: b2\n"
    content = chat(fresh, http, "feed_judgments", body).json()["choices"][0]["message"]["content"]
    rows = json.loads(content)["judgments"]
    assert "include" not in rows[0] and "include" in rows[1]
    assert (
        json.loads(chat(fresh, http, "repo_kind", "x").json()["choices"][0]["message"]["content"])
        == {}
    )
    fresh.configure(llm={"malformed": "none", "error_rate": 1.0, "error_status": 429})
    r = chat(fresh, http, "repo_kind", "x")
    assert r.status_code == 429 and "error" in r.json()
    fresh.configure(llm={"error_rate": 1.0, "error_status": 500})
    assert chat(fresh, http, "repo_kind", "x").status_code == 500


def test_active_days_truth(fresh):
    w = fresh.world
    login = w.world_logins[0]
    t = fresh.truth(f"users/{login}/active-days", since="2000-01-01", until="2100-01-01")
    assert t["days"] and t["repo_days"] and t["language_days"]
    for repo_name, days in t["repo_days"].items():
        repo = w.get_repo_by_full_name(repo_name)
        assert days == w.commit_days(repo, login)
    for c in t["commits"][:50]:
        for f in c["files"]:
            if f["vendored"] or f["documentation"]:
                assert (
                    f["language"] is None
                    or f["language"] not in c["languages"]
                    or any(
                        g["language"] == f["language"]
                        and not g["vendored"]
                        and not g["documentation"]
                        for g in c["files"]
                    )
                )
    n = fresh.truth(f"users/{login}/highlight-nominees")
    assert n["nominees"] and all(x["commit_days"] >= 4 for x in n["nominees"])
    reasons = {x["include_reason"] for x in n["linked"]}
    assert {"owned", "fork_active", "contributed"} <= reasons


def test_llm_stream(fresh, http):
    r = chat(fresh, http, "repo_kind", "x", stream=True)
    assert r.status_code == 200
    events = [ln[6:] for ln in r.text.split("\n") if ln.startswith("data: ")]
    assert events[-1] == "[DONE]"
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in events[:-1])
    assert json.loads(text)["kind"]


def test_litellm_client_if_available(fresh):
    litellm = pytest.importorskip("litellm")
    resp = litellm.completion(
        model="openai/ghsim",
        api_base=fresh.llm_base,
        api_key="anything",
        messages=[{"role": "user", "content": "task: repo_keywords\nname: x"}],
    )
    d = json.loads(resp.choices[0].message.content)
    assert 1 <= len(d["keywords"]) <= 4
