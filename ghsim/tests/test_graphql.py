"""GitHub's GraphQL rules as the simulator applies them: schema, cost, limits, errors."""

from __future__ import annotations

import graphql
import pytest

from ghsim import graphql_api as GQ
from ghsim.tests.conftest import tok

H = tok("avery-lin", "gq")


def post(sim, http, query, variables=None, headers=None):
    return http.post(
        sim.graphql_url,
        json={"query": query, "variables": variables or {}},
        headers=H if headers is None else headers,
    )


def price(query: str, variables: dict | None = None) -> GQ.Price:
    schema = GQ.SCHEMA.get()
    document = graphql.parse(query)
    assert not graphql.validate(schema, document)
    operation = next(
        d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)
    )
    return GQ.price_query(schema, operation, {}, variables or {})


def test_cost_formula_matches_githubs_documented_examples():
    # viewer -> repositories(100) -> issues(50) -> labels(60): 1 + 100 + 5,000 requests.
    docs = price(
        "{ viewer { repositories(first: 100) { nodes { issues(first: 50) { nodes {"
        " labels(first: 60) { nodes { name } } } } } } } }"
    )
    assert (docs.requests, docs.cost) == (5101, 51)
    assert docs.nodes == 100 + 100 * 50 + 100 * 50 * 60
    simple = price(
        "{ viewer { repositories(first: 50) { nodes { issues(first: 10) { totalCount } } } } }"
    )
    assert (simple.requests, simple.cost) == (51, 1)
    assert price("{ rateLimit { cost } }").cost == 1  # the minimum
    # totalCount-only connections need no first and count one request each.
    assert price('{ user(login: "x") { followers { totalCount } } }').requests == 1


def test_answer_has_the_fields_asked_for_and_rate_limit_after_the_charge(fresh, http):
    r = post(
        fresh,
        http,
        """query($login: String!) { user(login: $login) { login
             repositories(first: 100, ownerAffiliations: OWNER,
                          orderBy: {field: PUSHED_AT, direction: DESC}) {
               totalCount nodes { nameWithOwner pushedAt
                 languages(first: 10, orderBy: {field: SIZE, direction: DESC}) {
                   totalSize edges { size node { name } } }
                 repositoryTopics(first: 10) { nodes { topic { name } } } } } }
           rateLimit { cost remaining resetAt limit used nodeCount } }""",
        {"login": "avery-lin"},
    )
    assert r.status_code == 200
    body = r.json()
    assert "errors" not in body
    user = body["data"]["user"]
    assert set(user) == {"login", "repositories"}
    repos = user["repositories"]["nodes"]
    world_repos = fresh.world.user_repos("avery-lin")
    assert user["repositories"]["totalCount"] == len(world_repos) == len(repos)
    assert [n["pushedAt"] for n in repos] == sorted((n["pushedAt"] for n in repos), reverse=True)
    first = fresh.world.get_repo_by_full_name(repos[0]["nameWithOwner"])
    sizes = {e["node"]["name"]: e["size"] for e in repos[0]["languages"]["edges"]}
    assert sizes == fresh.world.languages(first)
    # 1 + 100 + 100 requests -> 2 points, charged to the graphql budget.
    assert body["data"]["rateLimit"]["cost"] == 2
    assert body["data"]["rateLimit"]["used"] == 2
    assert body["data"]["rateLimit"]["remaining"] == body["data"]["rateLimit"]["limit"] - 2
    assert r.headers["x-ratelimit-resource"] == "graphql"
    assert r.headers["x-ratelimit-used"] == "2"
    assert fresh.stats()["graphql_points"] == 2


def test_first_or_last_is_required_and_at_most_100(fresh, http):
    missing = post(fresh, http, '{ user(login: "avery-lin") { repositories { nodes { name } } } }')
    assert missing.json()["errors"][0]["type"] == "MISSING_PAGINATION_BOUNDARIES"
    assert "`repositories` connection" in missing.json()["errors"][0]["message"]
    big = post(
        fresh, http, '{ user(login: "avery-lin") { repositories(first: 101) { totalCount } } }'
    )
    assert big.json()["errors"][0]["message"] == (
        "Requesting 101 records on the `repositories` connection exceeds the `first` limit"
        " of 100 records."
    )
    zero = post(
        fresh, http, '{ user(login: "avery-lin") { repositories(last: 0) { totalCount } } }'
    )
    assert zero.json()["errors"]
    assert fresh.stats()["graphql_points"] == 0  # refused queries cost nothing


def test_node_limit_refuses_before_running(fresh, http):
    r = post(
        fresh,
        http,
        '{ user(login: "avery-lin") { repositories(first: 100) { nodes { issues(first: 100) {'
        " nodes { labels(first: 100) { totalCount } } } } } } }",
    )
    error = r.json()["errors"][0]
    assert error["type"] == "MAX_NODE_LIMIT_EXCEEDED"
    assert "1,010,100 possible nodes" in error["message"] and "500,000" in error["message"]
    assert "data" not in r.json()


def test_fields_github_does_not_have_are_errors(fresh, http):
    r = post(fresh, http, '{ user(login: "avery-lin") { readme } }')
    assert "Cannot query field 'readme' on type 'User'" in r.json()["errors"][0]["message"]
    r = post(fresh, http, '{ repository(owner: "avery-lin", name: "x") { readme { text } } }')
    assert r.json()["errors"] and "data" not in r.json()


def test_unknown_user_and_partial_data_with_typed_errors(fresh, http):
    gone = post(fresh, http, '{ user(login: "no-such-user-zz") { login } }').json()
    assert gone["data"] == {"user": None}
    assert gone["errors"][0]["type"] == "NOT_FOUND"
    assert gone["errors"][0]["path"] == ["user"]
    assert gone["errors"][0]["message"] == (
        "Could not resolve to a User with the login of 'no-such-user-zz'."
    )
    name = fresh.world.user_repos("avery-lin")[0].name
    mixed = post(
        fresh,
        http,
        f'{{ r0: repository(owner: "avery-lin", name: "{name}") {{ name }}'
        ' r1: repository(owner: "avery-lin", name: "nothing-here") { name } }',
    ).json()
    assert mixed["data"] == {"r0": {"name": name}, "r1": None}
    assert [(e["type"], e["path"]) for e in mixed["errors"]] == [("NOT_FOUND", ["r1"])]


def test_readme_blobs_by_alias_and_history_by_author(fresh, http):
    repo = next(r for r in fresh.world.user_repos("avery-lin") if r.has_readme and not r.empty)
    uid = fresh.world.get_user("avery-lin").id
    body = post(
        fresh,
        http,
        """query($owner: String!, $name: String!, $uid: ID!) {
             repository(owner: $owner, name: $name) {
               upper: object(expression: "HEAD:README.md") {
                 ... on Blob { text byteSize isTruncated } }
               lower: object(expression: "HEAD:readme.md") { ... on Blob { text } }
               defaultBranchRef { target { ... on Commit {
                 history(first: 100, author: {id: $uid}) {
                   totalCount nodes { committedDate } } } } } } }""",
        {"owner": repo.owner, "name": repo.name, "uid": graphql_user_id(uid)},
    ).json()
    data = body["data"]["repository"]
    assert data["upper"]["text"].startswith("# ") and data["upper"]["isTruncated"] is False
    assert data["lower"] is None  # a missing path is null, not an error
    assert "errors" not in body
    days = {n["committedDate"][:10] for n in data["defaultBranchRef"]["target"]["history"]["nodes"]}
    assert days and days <= set(fresh.world.commit_days(repo, "avery-lin"))


def graphql_user_id(uid: int) -> str:
    from ghsim.util import node_id

    return node_id("User", uid)


def test_primary_budget_counts_points_and_answers_rate_limited(fresh, http):
    fresh.configure(graphql_limit=3)
    q = (
        '{ user(login: "avery-lin") { repositories(first: 100) {'
        " nodes { languages(first: 10) { totalCount } } } } }"
    )
    assert "errors" not in post(fresh, http, q).json()  # 1 + 100 requests: 1 point
    ok = post(fresh, http, q + " ")
    assert ok.headers["x-ratelimit-remaining"] == "1"
    big = (
        '{ user(login: "avery-lin") { repositories(first: 100) { nodes {'
        " languages(first: 10) { totalCount } repositoryTopics(first: 5) { totalCount } } } } }"
    )
    refused = post(fresh, http, big)  # 2 points do not fit in the 1 left
    error = refused.json()["errors"][0]
    assert error["type"] == "RATE_LIMITED" and "rate limit" in error["message"]
    assert refused.headers["x-ratelimit-resource"] == "graphql"
    assert int(refused.headers["x-ratelimit-reset"]) > 0
    # REST has its own budget.
    assert http.get(f"{fresh.api_url}/users/avery-lin", headers=H).status_code == 200


def test_secondary_limit_of_points_per_minute(fresh, http):
    fresh.configure(graphql_points_per_minute=3)
    codes = [post(fresh, http, "{ rateLimit { remaining } }").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 403]
    last = post(fresh, http, "{ rateLimit { remaining } }")
    assert "secondary rate limit" in last.json()["message"]
    assert last.headers["retry-after"] == "60"
    other = post(fresh, http, "{ rateLimit { remaining } }", headers=tok("bram-okafor", "gq"))
    assert other.status_code == 200  # counted per token


def test_query_past_the_timeout_answers_502_and_costs_more(fresh, http):
    fresh.configure(
        graphql_timeout_seconds=0.5, graphql_timeout_penalty=7, graphql_latency={"per_node_ms": 50}
    )
    q = (
        '{ user(login: "avery-lin") { repositories(first: 100) { nodes { name'
        " languages(first: 10) { edges { size node { name } } } } } } }"
    )
    r = post(fresh, http, q)
    assert r.status_code == 502
    assert r.json()["data"] is None
    assert r.json()["errors"][0]["message"].startswith(
        "Something went wrong while executing your query. This may be the result of a timeout"
    )
    assert fresh.stats()["graphql_points"] == 1 + 7  # 1 + 100 requests, then the penalty
    small = post(fresh, http, '{ user(login: "avery-lin") { login } }')
    assert small.status_code == 200


def test_resource_limit_nulls_the_heaviest_field_and_keeps_the_rest(fresh, http):
    fresh.configure(graphql_resource_limit_nodes=500)
    q = """{ user(login: "avery-lin") { login
             repositories(first: 100) { nodes { languages(first: 10) { totalCount } } } }
           rateLimit { cost } }"""
    body = post(fresh, http, q).json()
    assert body["data"]["user"] is None and body["data"]["rateLimit"]["cost"] == 1
    assert body["errors"] == [
        {
            "type": "RESOURCE_LIMITS_EXCEEDED",
            "path": ["user"],
            "message": "Resource limits for this query exceeded.",
        }
    ]
    smaller = q.replace("first: 100", "first: 10")
    assert "errors" not in post(fresh, http, smaller).json()


def test_server_fault_on_graphql_has_githubs_body(fresh, http):
    fresh.configure(faults={"error_rate": 1.0, "error_status": 502, "path_prefix": "/api/graphql"})
    r = post(fresh, http, "{ rateLimit { cost } }")
    assert r.status_code == 502
    assert r.json()["errors"][0]["message"].startswith("Something went wrong")


@pytest.mark.parametrize("login", ["load-30r-1", "act-500c-1"])
def test_contributions_by_repository_per_year_window(fresh, http, login):
    body = post(
        fresh,
        http,
        """query($login: String!, $from: DateTime!, $to: DateTime!) { user(login: $login) {
             contributionsCollection(from: $from, to: $to) { contributionYears
               commitContributionsByRepository(maxRepositories: 100) {
                 repository { nameWithOwner } contributions { totalCount } } } } }""",
        {"login": login, "from": "2025-01-01T00:00:00Z", "to": "2025-12-31T23:59:59Z"},
    ).json()
    assert "errors" not in body
    rows = body["data"]["user"]["contributionsCollection"]["commitContributionsByRepository"]
    assert all(r["contributions"]["totalCount"] > 0 for r in rows)
    too_long = post(
        fresh,
        http,
        'query { user(login: "avery-lin") { contributionsCollection('
        'from: "2023-01-01T00:00:00Z", to: "2025-01-01T00:00:00Z")'
        " { totalCommitContributions } } }",
    ).json()
    assert too_long["data"]["user"] is None and too_long["errors"]


def test_schema_is_githubs_pinned_schema():
    version = GQ.schema_version()
    assert version["package"] == "@octokit/graphql-schema" and version["version"]
    schema = GQ.SCHEMA.get()
    assert "starredAt" in schema.get_type("StarredRepositoryEdge").fields
    assert "readme" not in schema.get_type("Repository").fields
