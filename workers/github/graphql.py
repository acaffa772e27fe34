"""GitHub's GraphQL API in the gateway: the queries Gazer sends, their price, and what
GitHub's answers mean.

GitHub's rules (docs: "Rate limits and query limits for the GraphQL API"):
- every connection takes `first` or `last`, 1-100 (a connection that selects only
  `totalCount` may leave both out);
- a query costs the requests needed to fill its connections, each connection counted once
  per possible parent (every parent's `first` assumed reached), summed, over 100, rounded
  to the nearest point, at least 1; at most 500,000 possible nodes per query;
- points come from a per-user hourly budget of their own (`x-ratelimit-resource: graphql`),
  beside REST's; GitHub ends a query after 10 s (502/504) and takes extra points for it.

So a query is priced here before it is sent, and sent only when the token's known
`graphql` budget holds its points (the points are taken from the shared budget in Redis
first, so processes never overspend it together). Queries keep pages small and leave
history and README text out of list queries (wall time, not points, is what ends a heavy
query).

Answers: `RATE_LIMITED` (or a message about the rate limit) → `RateLimited` with GitHub's
reset; `NOT_FOUND` of the user → `NotFound`; `MAX_NODE_LIMIT_EXCEEDED` and
`RESOURCE_LIMITS_EXCEEDED` → `QueryTooLarge` (the caller asks again smaller: the batch
helpers here split); a 502/504 or "Something went wrong while executing your query" →
`Transient`; partial `data` with `errors` → the data, and the errors logged and returned.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import graphql as gql
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from workers.timestamps import timestamp_parse

from . import errors

logger = logging.getLogger(__name__)

PAGE_MAX = 100  # GitHub's largest `first`
NODE_LIMIT = 500_000  # GitHub's possible nodes per query
POINT_REQUESTS = 149  # GitHub rounds requests / 100 to the nearest point: ≤ 149 is 1 point
DEFAULT_MAX_REPOSITORIES = 25  # ContributionsCollection's *ByRepository default

TOO_LARGE = frozenset({"MAX_NODE_LIMIT_EXCEEDED", "RESOURCE_LIMITS_EXCEEDED"})
WENT_WRONG = "something went wrong while executing your query"
RATE_LIMIT_WORDS = re.compile(r"rate limit", re.IGNORECASE)


# --------------------------------------------------------------------------- pricing
@dataclass(frozen=True)
class Price:
    """What GitHub's formula makes of a query."""

    requests: int
    nodes: int

    @property
    def cost(self) -> int:
        return max(1, int(self.requests / 100 + 0.5))


def _value(node, variables: dict[str, Any]) -> Any:
    if node is None:
        return None
    if isinstance(node, gql.VariableNode):
        return variables.get(node.name.value)
    return gql.value_from_ast_untyped(node, variables)


def price(query: str, variables: dict[str, Any] | None = None) -> Price:
    """GitHub's cost and node count of a query Gazer sends.

    Without the schema a connection is a field given `first`/`last` (every connection in
    Gazer's queries is), or one that selects only `totalCount` (one request, no nodes);
    a field given `maxRepositories` holds one entry per repository.
    """
    variables = variables or {}
    document = gql.parse(query)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    requests = 0

    def walk(selection_set: SelectionSetNode, mult: int) -> int:
        nonlocal requests
        nodes = 0
        for sel in selection_set.selections:
            if isinstance(sel, FragmentSpreadNode):
                nodes += walk(fragments[sel.name.value].selection_set, mult)
                continue
            if isinstance(sel, InlineFragmentNode):
                nodes += walk(sel.selection_set, mult)
                continue
            args = {a.name.value: a.value for a in sel.arguments or ()}
            limit = _value(args.get("first"), variables)
            if limit is None:
                limit = _value(args.get("last"), variables)
            child = mult
            if limit is not None:
                requests += mult
                child = mult * max(1, min(PAGE_MAX, int(limit)))
                nodes += child
            elif "maxRepositories" in args:
                most = _value(args["maxRepositories"], variables) or DEFAULT_MAX_REPOSITORIES
                child = mult * int(most)
                nodes += child
            elif sel.selection_set is not None and _only_total_count(sel):
                requests += mult
            if sel.selection_set is not None:
                nodes += walk(sel.selection_set, child)
        return nodes

    nodes = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            nodes += walk(definition.selection_set, 1)
    return Price(requests=requests, nodes=nodes)


def _only_total_count(node: FieldNode) -> bool:
    return node.name.value not in ("rateLimit",) and all(
        isinstance(s, FieldNode) and s.name.value in ("totalCount", "__typename")
        for s in node.selection_set.selections
    )


# --------------------------------------------------------------------------- sending
@dataclass
class Answer:
    """A GraphQL answer: its data, and the errors GitHub gave beside it (partial data)."""

    data: dict[str, Any]
    errors: list[dict[str, Any]] = field(default_factory=list)
    cost: int = 0  # points GitHub charged (`rateLimit.cost`), else the estimate

    def failed(self, key: str) -> list[dict[str, Any]]:
        """The errors of one top-level field (an alias)."""
        return [e for e in self.errors if (e.get("path") or [None])[0] == key]


def _kind(error: dict[str, Any]) -> str:
    return str(error.get("type") or "").upper()


def _reset_at(headers, data: dict | None) -> datetime:
    reset = headers.get("x-ratelimit-reset") if headers is not None else None
    if reset:
        try:
            return datetime.fromtimestamp(float(reset), UTC)
        except ValueError:
            pass
    stamp = ((data or {}).get("rateLimit") or {}).get("resetAt")
    when = timestamp_parse(stamp)
    if when is not None:
        return when
    return datetime.fromtimestamp(time.time() + 60, UTC)


def _reserve(gw, token: str | None, points: int) -> str | None:
    """A token whose known `graphql` budget holds `points`, with them taken; else
    RateLimited until the earliest reset."""
    earliest: float | None = None
    for candidate in gw._candidates(token):
        ok, free_at = gw.limits.reserve(candidate, "graphql", points)
        if ok:
            return candidate
        earliest = free_at if earliest is None else min(earliest, free_at)
    reset_at = datetime.fromtimestamp(earliest or time.time() + 60, UTC)
    logger.info("github.graphql_budget_short points=%s reset=%s", points, reset_at)
    raise errors.RateLimited(reset_at=reset_at, resource="graphql", url=gw.graphql_url)


def run(
    gw,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    user_not_found: bool = True,
) -> Answer:
    """Send one query through the gateway `gw`; typed errors as the module says.

    `user_not_found`: a NOT_FOUND of the top-level `user` raises NotFound (else it is
    returned as partial data, like a missing repository in an aliased batch).
    """
    if not token and not gw.tokens:
        raise errors.BadCredentials("GraphQL needs a token: set GITHUB_TOKENS")
    variables = variables or {}
    estimate = price(query, variables)
    if estimate.nodes > NODE_LIMIT:
        raise errors.QueryTooLarge(
            f"graphql: {estimate.nodes:,} possible nodes, GitHub allows {NODE_LIMIT:,}",
            url=gw.graphql_url,
        )
    chosen = _reserve(gw, token, estimate.cost)
    started = time.monotonic()
    resp = gw.request(
        "POST",
        gw.graphql_url,
        token=chosen,
        resource="graphql",
        json_body={"query": query, "variables": variables},
    )
    seconds = time.monotonic() - started
    if resp.status >= 400:
        gw._raise_for(resp, what="graphql")
    doc = resp.json() or {}
    data = doc.get("data")
    problems = [e for e in doc.get("errors") or [] if isinstance(e, dict)]
    for error in problems:
        message = str(error.get("message") or "")
        if _kind(error) in ("RATE_LIMITED", "RATE_LIMIT") or RATE_LIMIT_WORDS.search(message):
            raise errors.RateLimited(
                reset_at=_reset_at(resp.headers, data), resource="graphql", url=gw.graphql_url
            )
        if _kind(error) == "MAX_NODE_LIMIT_EXCEEDED":
            raise errors.QueryTooLarge(f"graphql: {message}", url=gw.graphql_url)
        if WENT_WRONG in message.lower() and not data:
            raise errors.Transient(f"graphql: {message}", url=gw.graphql_url)
    if data is None:
        if any(_kind(e) in TOO_LARGE for e in problems):
            raise errors.QueryTooLarge("graphql: resource limits exceeded", url=gw.graphql_url)
        message = problems[0].get("message") if problems else "no data"
        raise errors.GitHubError(f"graphql: {message}", url=gw.graphql_url)
    for error in problems:
        path = error.get("path") or []
        if _kind(error) == "NOT_FOUND" and user_not_found and path[:1] == ["user"]:
            raise errors.NotFound(f"graphql: {error.get('message')}", url=gw.graphql_url)
        if _kind(error) in TOO_LARGE and path and data.get(path[0]) is None and len(data) == 1:
            raise errors.QueryTooLarge(f"graphql: {error.get('message')}", url=gw.graphql_url)
    cost = int(((data.get("rateLimit") or {}).get("cost")) or estimate.cost)
    logger.info(
        "github.graphql cost=%s estimate=%s nodes=%s seconds=%.3f errors=%s",
        cost,
        estimate.cost,
        estimate.nodes,
        seconds,
        len(problems),
    )
    if problems:
        logger.warning(
            "github.graphql_partial",
            extra={
                "errors": [
                    {"type": _kind(e), "path": e.get("path"), "message": e.get("message")}
                    for e in problems[:20]
                ]
            },
        )
    return Answer(data=data, errors=problems, cost=cost)


def data_of(gw, query: str, variables: dict, *, token: str | None = None) -> dict:
    """`GitHubGateway.graphql`: the data of one query (a NOT_FOUND anywhere raises)."""
    answer = run(gw, query, variables, token=token)
    for error in answer.errors:
        if _kind(error) == "NOT_FOUND":
            raise errors.NotFound(f"graphql: {error.get('message')}", url=gw.graphql_url)
    return answer.data


def batched(
    gw,
    items: Sequence[Any],
    build: Callable[[Sequence[Any]], tuple[str, dict]],
    *,
    chunk: int,
    token: str | None = None,
) -> tuple[dict[int, Any], int]:
    """Ask about `items` with aliased queries of at most `chunk` (`build(part)` → query and
    variables whose aliases are `r0`, `r1`, … in the part's order); a part GitHub finds too
    large is split in halves and asked again. Returns ({index: alias data or None}, points)."""
    out: dict[int, Any] = {}
    points = 0
    todo = [list(range(i, min(i + chunk, len(items)))) for i in range(0, len(items), chunk)]
    while todo:
        part = todo.pop(0)
        query, variables = build([items[i] for i in part])
        try:
            answer = run(gw, query, variables, token=token, user_not_found=False)
        except errors.QueryTooLarge:
            if len(part) == 1:
                logger.warning(
                    "github.graphql_too_large_alone", extra={"item": str(items[part[0]])}
                )
                out[part[0]] = None
                continue
            half = len(part) // 2
            todo[:0] = [part[:half], part[half:]]
            continue
        points += answer.cost
        again = []
        for n, index in enumerate(part):
            key = f"r{n}"
            if any(_kind(e) in TOO_LARGE for e in answer.failed(key)) and len(part) > 1:
                again.append(index)
                continue
            out[index] = answer.data.get(key)
        if again:
            todo[:0] = [again[: len(again) // 2 or 1], again[len(again) // 2 or 1 :]]
            todo = [p for p in todo if p]
    return out, points


# --------------------------------------------------------------------------- queries
REPO_FIELDS = """
fragment RepoFields on Repository {
  databaseId name nameWithOwner owner { login } description url homepageUrl
  isFork isArchived isPrivate isEmpty pushedAt createdAt updatedAt
  stargazerCount forkCount primaryLanguage { name }
  languages(first: 10, orderBy: {field: SIZE, direction: DESC}) {
    totalSize edges { size node { name } }
  }
  repositoryTopics(first: 10) { nodes { topic { name } } }
  defaultBranchRef { name }
  parent { nameWithOwner }
}
"""

# The user alone (the profile step): three counts, one point.
USER_QUERY = """
query User($login: String!) {
  user(login: $login) {
    databaseId login name bio company location websiteUrl avatarUrl url createdAt
    followers { totalCount }
    following { totalCount }
    repositories(ownerAffiliations: OWNER) { totalCount }
  }
  rateLimit { cost remaining resetAt }
}
"""

# The user and one page of owned repositories, newest push first (no README text, no
# history: those are per-repo batches).
PROFILE_QUERY = (
    """
query Profile($login: String!, $first: Int!, $after: String) {
  user(login: $login) {
    id databaseId login name bio company location websiteUrl avatarUrl url createdAt
    followers { totalCount }
    following { totalCount }
    repositories(first: $first, after: $after, ownerAffiliations: OWNER,
                 orderBy: {field: PUSHED_AT, direction: DESC}) {
      totalCount
      pageInfo { hasNextPage endCursor }
      nodes { ...RepoFields }
    }
  }
  rateLimit { cost remaining resetAt }
}
"""
    + REPO_FIELDS
)


# The repositories a user committed to (and opened pull requests in), per window of at
# most a year (aliases w0, w1, …); names only, so the lists cost nothing beyond the
# query's minimum point.
def contributed_query(windows: int) -> str:
    declared = " ".join(f"$from{n}: DateTime! $to{n}: DateTime!" for n in range(windows))
    lists = " ".join(
        f"{key}(maxRepositories: 100) {{ repository {{ nameWithOwner isPrivate isFork"
        " owner { login } } }"
        for key in ("commitContributionsByRepository", "pullRequestContributionsByRepository")
    )
    parts = " ".join(
        f"w{n}: contributionsCollection(from: $from{n}, to: $to{n}) {{ {lists} }}"
        for n in range(windows)
    )
    return (
        f"query Contributed($login: String!, {declared}) {{\n"
        f"  user(login: $login) {{ {parts} }}\n"
        "  rateLimit { cost remaining resetAt }\n}\n"
    )


README_NAMES = ("README.md", "README", "readme.md", "README.rst", "Readme.md", "README.txt")
BRANCHES_PER_REPO = 10
COMMITS_PER_BRANCH = 100


def repo_details_query(names: Sequence[str], *, metadata: bool) -> tuple[str, dict]:
    """Per repository (aliases r0…): whether a README exists (by path at HEAD, size only),
    and the dates of the user's commits on the default branch and up to ten branches;
    with `metadata`, the repository's own fields too (a repo that is not the user's)."""
    parts = []
    variables: dict[str, Any] = {}
    for n, full in enumerate(names):
        owner, _, name = full.partition("/")
        variables[f"o{n}"], variables[f"n{n}"] = owner, name
        readmes = " ".join(
            f'readme{k}: object(expression: "HEAD:{path}") {{ ... on Blob {{ byteSize }} }}'
            for k, path in enumerate(README_NAMES)
        )
        history = (
            "target { ... on Commit { history(first: $commits, author: {id: $uid}) {"
            " nodes { authoredDate } } } }"
        )
        parts.append(
            f"r{n}: repository(owner: $o{n}, name: $n{n}) {{ nameWithOwner isEmpty"
            f" {'...RepoFields' if metadata else ''} {readmes}"
            f" defaultBranchRef {{ name {history} }}"
            f' refs(refPrefix: "refs/heads/", first: $branches) {{ nodes {{ name {history} }} }} }}'
        )
    declared = " ".join(f"$o{n}: String! $n{n}: String!" for n in range(len(names)))
    query = (
        f"query RepoDetails($uid: ID!, $branches: Int!, $commits: Int!, {declared}) {{\n  "
        + "\n  ".join(parts)
        + "\n  rateLimit { cost remaining resetAt }\n}\n"
        + (REPO_FIELDS if metadata else "")
    )
    variables.update(branches=BRANCHES_PER_REPO, commits=COMMITS_PER_BRANCH)
    return query, variables


def activity_query(scans: Sequence[tuple[str, str]]) -> tuple[str, dict]:
    """Per repository (aliases r0…, each (full name, ISO since)): its languages and the
    first page of the user's commits on the default branch since then, with the author's
    email and account (what the activity step learns identities from)."""
    parts = []
    variables: dict[str, Any] = {}
    for n, (full, since) in enumerate(scans):
        owner, _, name = full.partition("/")
        variables[f"o{n}"], variables[f"n{n}"], variables[f"s{n}"] = owner, name, since
        parts.append(
            f"r{n}: repository(owner: $o{n}, name: $n{n}) {{ nameWithOwner isEmpty"
            " languages(first: 20, orderBy: {field: SIZE, direction: DESC}) {"
            " edges { size node { name } } }"
            " defaultBranchRef { name target { ... on Commit {"
            f" history(first: $commits, author: {{id: $uid}}, since: $s{n}) {{"
            " nodes { oid authoredDate author { email user { login } } } } } } } }"
        )
    declared = " ".join(
        f"$o{n}: String! $n{n}: String! $s{n}: GitTimestamp!" for n in range(len(scans))
    )
    query = (
        f"query Activity($uid: ID!, $commits: Int!, {declared}) {{\n  "
        + "\n  ".join(parts)
        + "\n  rateLimit { cost remaining resetAt }\n}\n"
    )
    variables["commits"] = COMMITS_PER_BRANCH
    return query, variables


def details_chunk(*, metadata: bool) -> int:
    """Repos per details query so that it costs one point."""
    query, variables = repo_details_query(["o/r"], metadata=metadata)
    per_repo = price(query, {**variables, "uid": "x"}).requests
    return max(1, POINT_REQUESTS // max(1, per_repo))


def activity_chunk() -> int:
    """Repos per activity query so that it costs one point."""
    query, variables = activity_query([("o/r", "2025-01-01T00:00:00Z")])
    per_repo = price(query, {**variables, "uid": "x"}).requests
    return max(1, POINT_REQUESTS // max(1, per_repo))


# --------------------------------------------------------------------------- shapes
def repo_payload(node: dict[str, Any]) -> dict[str, Any]:
    """A GraphQL repository as the REST payload `repos.services` reads."""
    languages = {
        e["node"]["name"]: int(e.get("size") or 0)
        for e in ((node.get("languages") or {}).get("edges") or [])
        if (e.get("node") or {}).get("name")
    }
    parent = node.get("parent") or {}
    return {
        "id": node.get("databaseId"),
        "name": node.get("name"),
        "full_name": node.get("nameWithOwner"),
        "owner": {"login": (node.get("owner") or {}).get("login")},
        "description": node.get("description"),
        "html_url": node.get("url"),
        "homepage": node.get("homepageUrl"),
        "fork": bool(node.get("isFork")),
        "archived": bool(node.get("isArchived")),
        "private": bool(node.get("isPrivate")),
        "pushed_at": node.get("pushedAt"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "stargazers_count": node.get("stargazerCount") or 0,
        "forks_count": node.get("forkCount") or 0,
        "language": (node.get("primaryLanguage") or {}).get("name"),
        "topics": [
            t["topic"]["name"]
            for t in ((node.get("repositoryTopics") or {}).get("nodes") or [])
            if (t.get("topic") or {}).get("name")
        ],
        "default_branch": (node.get("defaultBranchRef") or {}).get("name") or "",
        "parent": {"full_name": parent["nameWithOwner"]} if parent.get("nameWithOwner") else None,
        "languages": languages,
    }


def commit_days_of(node: dict[str, Any], *, branches: int = BRANCHES_PER_REPO) -> int:
    """Distinct days of the user's commits on the default branch and the first branches
    (the default first, at most `branches`), from a details alias."""
    default = node.get("defaultBranchRef") or {}
    heads = [default] if default.get("name") else []
    names = {default.get("name")}
    for ref in (node.get("refs") or {}).get("nodes") or []:
        if ref.get("name") not in names:
            heads.append(ref)
            names.add(ref.get("name"))
    days: set[str] = set()
    for ref in heads[:branches]:
        history = ((ref.get("target") or {}).get("history") or {}).get("nodes") or []
        days.update(c["authoredDate"][:10] for c in history if c.get("authoredDate"))
    return len(days)


def has_readme(node: dict[str, Any]) -> bool:
    return any(node.get(f"readme{k}") for k in range(len(README_NAMES)))


def queries_sent() -> Iterable[tuple[str, str, dict]]:
    """(name, query, example variables) of every query Gazer sends (schema tests)."""
    from .client import CONTRIBUTIONS_QUERY

    window = {"from": "2025-01-01T00:00:00Z", "to": "2025-12-31T00:00:00Z"}
    yield "user", USER_QUERY, {"login": "octocat"}
    yield "profile", PROFILE_QUERY, {"login": "octocat", "first": 30, "after": None}
    yield (
        "contributed",
        contributed_query(2),
        {
            "login": "octocat",
            "from0": window["from"],
            "to0": window["to"],
            "from1": "2024-01-01T00:00:00Z",
            "to1": "2024-12-31T00:00:00Z",
        },
    )
    yield "contributions", CONTRIBUTIONS_QUERY, {"login": "octocat", **window}
    for metadata in (False, True):
        query, variables = repo_details_query(["octocat/hello", "acme/tool"], metadata=metadata)
        yield f"details metadata={metadata}", query, {**variables, "uid": "MDQ6VXNlcjE="}
    query, variables = activity_query([("octocat/hello", "2025-01-01T00:00:00Z")] * 2)
    yield "activity", query, {**variables, "uid": "MDQ6VXNlcjE="}
