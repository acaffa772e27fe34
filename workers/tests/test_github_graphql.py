"""The gateway's GraphQL: queries valid for GitHub's schema, priced as GitHub prices them,
sent only within the budget, and GitHub's answers mapped."""

from __future__ import annotations

import logging

import graphql
import pytest
import requests

from ghsim import graphql_api as sim_graphql
from ghsim.testing import SimulatorProcess
from ghsim.util import node_id
from workers.github import errors as gh_errors
from workers.github import graphql as gq
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


def _operation(document):
    return next(d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode))


@pytest.mark.parametrize(("name", "query", "variables"), list(gq.queries_sent()))
def test_every_query_gazer_sends_is_valid_for_githubs_schema_and_priced_as_github_does(
    name, query, variables
):
    schema = sim_graphql.SCHEMA.get()
    document = graphql.parse(query)
    assert graphql.validate(schema, document) == [], name
    fragments = {
        d.name.value: d
        for d in document.definitions
        if isinstance(d, graphql.FragmentDefinitionNode)
    }
    coerced = graphql.execution.values.get_variable_values(
        schema, _operation(document).variable_definitions, variables
    )
    assert not isinstance(coerced, list), coerced
    coerced = getattr(coerced, "coerced", coerced)
    github = sim_graphql.price_query(schema, _operation(document), fragments, coerced)
    assert github.errors == []  # every connection has first/last within 1-100
    ours = gq.price(query, variables)
    assert (ours.requests, ours.nodes, ours.cost) == (github.requests, github.nodes, github.cost)
    assert ours.nodes <= gq.NODE_LIMIT


def test_detail_batches_cost_one_point_each():
    for metadata in (False, True):
        chunk = gq.details_chunk(metadata=metadata)
        query, variables = gq.repo_details_query(
            [f"o/r{i}" for i in range(chunk)], metadata=metadata
        )
        assert gq.price(query, {**variables, "uid": "x"}).cost == 1
        query, variables = gq.repo_details_query(
            [f"o/r{i}" for i in range(chunk + 1)], metadata=metadata
        )
        assert gq.price(query, {**variables, "uid": "x"}).cost == 2


def test_profile_query_reads_user_and_repos_and_charges_the_graphql_budget(sim):
    token = new_token()
    gw = gateway(sim, tokens=[token])
    answer = gq.run(gw, gq.PROFILE_QUERY, {"login": "avery-lin", "first": 30, "after": None})
    user = answer.data["user"]
    assert user["login"] == "avery-lin"
    payloads = [gq.repo_payload(n) for n in user["repositories"]["nodes"]]
    rest = gw.user_repos("avery-lin", sort="pushed", limit=30)
    assert [p["full_name"] for p in payloads] == [r["full_name"] for r in rest]
    for ours, theirs in zip(payloads, rest, strict=True):
        for key in ("id", "language", "fork", "pushed_at", "topics", "homepage"):
            assert ours[key] == theirs[key], key
        # An empty repository has no default branch ref in GraphQL.
        assert ours["default_branch"] in (theirs["default_branch"], "")
    assert answer.cost == gq.price(gq.PROFILE_QUERY, {"first": 30}).cost == 1
    budget = gw.limits.budget(token, "graphql")
    assert budget.used == answer.cost and budget.remaining == budget.limit - answer.cost
    assert gw.limits.budget(token, "core").used == 1  # the user_repos call above


def test_query_is_not_sent_when_the_known_budget_cannot_hold_its_points(sim):
    sim.configure(graphql_limit=3)
    token = new_token()
    gw = gateway(sim, tokens=[token])
    query, variables = gq.repo_details_query(["avery-lin/x"] * 13, metadata=False)
    variables["uid"] = node_id("User", 1)
    assert gq.price(query, variables).cost == 2
    gq.run(gw, query, variables)  # 2 points: 1 left
    sent = sim.stats()["by_kind"]["graphql"]
    with pytest.raises(gh_errors.RateLimited) as caught:
        gq.run(gw, query, variables)
    assert caught.value.resource == "graphql" and caught.value.seconds_left > 0
    assert sim.stats()["by_kind"]["graphql"] == sent  # refused here, not at GitHub
    gq.run(gw, "{ rateLimit { cost remaining } }")  # 1 point still fits


def test_rate_limited_answer_waits_until_reset(sim):
    sim.configure(graphql_limit=1)
    token = new_token()
    requests.post(  # another client spends the budget: the gateway does not know
        sim.graphql_url,
        json={"query": "{ rateLimit { cost } }"},
        headers={"Authorization": f"token {token}"},
        timeout=10,
    )
    gw = gateway(sim, tokens=[token])
    with pytest.raises(gh_errors.RateLimited) as caught:
        gq.run(gw, "{ rateLimit { cost } }")
    assert caught.value.resource == "graphql"
    assert 3000 < caught.value.seconds_left <= 3601


def test_unknown_user_is_not_found(sim):
    gw = gateway(sim)
    with pytest.raises(gh_errors.NotFound):
        gq.run(gw, gq.PROFILE_QUERY, {"login": "no-such-user-zz", "first": 5, "after": None})


def test_node_limit_is_refused_before_sending(sim):
    gw = gateway(sim)
    huge = (
        '{ user(login: "avery-lin") { repositories(first: 100) { nodes { issues(first: 100) {'
        " nodes { labels(first: 100) { totalCount } } } } } } }"
    )
    with pytest.raises(gh_errors.QueryTooLarge):
        gq.run(gw, huge)
    assert sim.stats()["by_kind"].get("graphql", 0) == 0


def test_server_failure_and_something_went_wrong_are_transient(sim):
    gw = gateway(sim)
    sim.configure(faults={"error_rate": 1.0, "error_status": 502, "path_prefix": "/api/graphql"})
    with pytest.raises(gh_errors.Transient):
        gq.run(gw, "{ rateLimit { cost } }")
    sim.reset()
    sim.configure(graphql_timeout_seconds=0.3, graphql_latency={"base_ms": 1000})
    with pytest.raises(gh_errors.Transient):
        gq.run(gw, "{ rateLimit { cost } }")


def test_partial_data_is_used_and_what_failed_is_logged(sim, caplog):
    gw = gateway(sim, tokens=[new_token()])
    real = [r["full_name"] for r in gw.user_repos("avery-lin", limit=2)]
    names = [real[0], "avery-lin/does-not-exist", real[1]]
    uid = node_id("User", 1)
    with caplog.at_level(logging.WARNING, logger="workers.github.graphql"):
        got, points = gq.batched(
            gw,
            names,
            lambda part: _details(part, uid),
            chunk=5,
        )
    assert got[1] is None
    assert got[0]["nameWithOwner"] == real[0] and got[2]["nameWithOwner"] == real[1]
    assert points == 1
    assert any(r.message == "github.graphql_partial" for r in caplog.records)


def _details(part, uid):
    query, variables = gq.repo_details_query(part, metadata=False)
    return query, {**variables, "uid": uid}


def test_resource_limits_split_the_batch_until_it_fits(sim):
    gw = gateway(sim)
    names = [r["full_name"] for r in gw.user_repos("avery-lin", limit=8)]
    # Each alias asks for up to 1,000 + 10 + 100 possible nodes: four fit, eight do not.
    sim.configure(graphql_resource_limit_nodes=4500)
    uid = node_id("User", 1)
    got, _ = gq.batched(gw, names, lambda part: _details(part, uid), chunk=8)
    assert sorted(got) == list(range(8))
    assert [got[i]["nameWithOwner"] for i in range(8)] == names
    sizes = [q["nodes"] for q in sim.stats()["graphql_queries"]]
    assert max(sizes) > 4500 and sizes[-1] <= 4500


def test_commit_days_match_the_rest_count(sim):
    gw = gateway(sim)
    repos = gw.user_repos("avery-lin", limit=12)
    uid = node_id("User", gw.user("avery-lin")["id"])
    got, _ = gq.batched(gw, [r["full_name"] for r in repos], lambda p: _details(p, uid), chunk=12)
    for i, repo in enumerate(repos):
        assert gq.commit_days_of(got[i] or {}) == _rest_days(gw, repo), repo["full_name"]


def _rest_days(gw, repo) -> int:
    """The commit-day count over REST: default branch first, ten branches, 100 commits each."""
    try:
        branches = gw.branches(repo["full_name"], limit=10)
    except gh_errors.GitHubError:
        return 0
    names = [repo["default_branch"]] + [
        b["name"] for b in branches if b["name"] != repo["default_branch"]
    ]
    days = set()
    for name in names[:10]:
        try:
            commits = gw.commits(repo["full_name"], author="avery-lin", sha=name, limit=100)
        except gh_errors.GitHubError:
            return 0
        days |= {c["commit"]["author"]["date"][:10] for c in commits}
    return len(days)
