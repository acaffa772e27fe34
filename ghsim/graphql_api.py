"""GitHub's GraphQL API over the world: GitHub's public schema, cost formula and limits.

A query is parsed and validated against GitHub's own schema (`data/github-schema.graphql`,
pinned in `data/github-schema.json`), so a field GitHub does not have is an error here
too. Before it runs, it is priced as GitHub prices it: every connection needs `first` or
`last` (1-100; a connection that selects only `totalCount` may leave both out), each
connection counts the requests needed to fill it assuming every parent's `first` is
reached, the sum over 100 rounded (at least 1) is the cost in points, and a query asking
for more than 500,000 possible nodes does not run. The points come off the token's
hourly `graphql` budget (`x-ratelimit-resource: graphql`); more than
`graphql_points_per_minute` (2,000) queries in a minute meet the secondary limit; a
query whose modelled time passes `graphql_timeout_seconds` (10) answers 502 with GitHub's
"Something went wrong" body and costs `graphql_timeout_penalty` more points; one whose
possible nodes pass `graphql_resource_limit_nodes` loses its heaviest top-level fields
with `RESOURCE_LIMITS_EXCEEDED` (partial data).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphql
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from .history import History
from .util import DAY, iso, node_id, parse_iso
from .world import NotFound, Repo, User, World

DATA = Path(__file__).resolve().parent / "data"
SCHEMA_FILE = DATA / "github-schema.graphql"
NODE_LIMIT = 500_000
PAGE_MAX = 100
DEFAULT_MAX_REPOSITORIES = 25
BLOB_TEXT_LIMIT = 512_000  # GitHub cuts Blob.text here and sets isTruncated


# ------------------------------------------------------------------ the schema
class _SchemaHolder:
    """GitHub's schema is 1.2 MB of SDL (seconds to parse): built once per process, in
    the background from the first call on."""

    def __init__(self) -> None:
        self._schema: GraphQLSchema | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._started = False

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._build, name="ghsim-schema", daemon=True).start()

    def _build(self) -> None:
        try:
            document = graphql.parse(SCHEMA_FILE.read_text(encoding="utf-8"), no_location=True)
            schema = graphql.build_ast_schema(document, assume_valid_sdl=True)
            # GitHub's published schema breaks two of graphql-core's schema rules (fields
            # defined twice, deprecated implementations of non-deprecated interface
            # fields); GitHub serves it as it is, so queries are checked against it as is.
            schema._validation_errors = []
            self._schema = schema
        finally:
            self._done.set()

    def get(self) -> GraphQLSchema:
        self.start()
        self._done.wait()
        if self._schema is None:
            raise RuntimeError(f"GitHub's GraphQL schema could not be built from {SCHEMA_FILE}")
        return self._schema


SCHEMA = _SchemaHolder()


def schema_version() -> dict:
    return json.loads((DATA / "github-schema.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ pricing
@dataclass
class Price:
    requests: int = 0
    nodes: int = 0
    errors: list[dict] = field(default_factory=list)
    top_nodes: dict[str, int] = field(default_factory=dict)  # response key -> nodes

    @property
    def cost(self) -> int:
        return max(1, int(self.requests / 100 + 0.5))


def _is_connection(field_type) -> bool:
    return graphql.get_named_type(field_type).name.endswith("Connection")


def _only_total_count(node: FieldNode) -> bool:
    if node.selection_set is None:
        return True
    return all(
        isinstance(s, FieldNode) and s.name.value in ("totalCount", "__typename")
        for s in node.selection_set.selections
    )


def price_query(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
) -> Price:
    """GitHub's cost formula and node count, and its pagination-argument errors."""
    price = Price()
    root = schema.query_type if operation.operation.value == "query" else schema.mutation_type

    def arg(node: FieldNode, field_def, name: str):
        for a in node.arguments or ():
            if a.name.value == name:
                return graphql.value_from_ast(a.value, field_def.args[name].type, variables)
        return None

    def walk(selection_set: SelectionSetNode, parent, mult: int, path: list[str]) -> int:
        nodes = 0
        for sel in selection_set.selections:
            if isinstance(sel, FragmentSpreadNode):
                frag = fragments[sel.name.value]
                kind = schema.get_type(frag.type_condition.name.value)
                nodes += walk(frag.selection_set, kind, mult, path)
                continue
            if isinstance(sel, InlineFragmentNode):
                kind = (
                    schema.get_type(sel.type_condition.name.value) if sel.type_condition else parent
                )
                nodes += walk(sel.selection_set, kind, mult, path)
                continue
            name = sel.name.value
            if name.startswith("__") or not hasattr(parent, "fields"):
                continue
            field_def = parent.fields.get(name)
            if field_def is None:
                continue
            key = sel.alias.value if sel.alias else name
            child_mult, here = mult, 0
            if _is_connection(field_def.type):
                first = arg(sel, field_def, "first") if "first" in field_def.args else None
                last = arg(sel, field_def, "last") if "last" in field_def.args else None
                limit = first if first is not None else last
                if limit is None:
                    if not _only_total_count(sel):
                        price.errors.append(
                            {
                                "type": "MISSING_PAGINATION_BOUNDARIES",
                                "path": [*path, key],
                                "message": (
                                    "You must provide a `first` or `last` value to properly "
                                    f"paginate the `{name}` connection."
                                ),
                            }
                        )
                    limit = 0  # only a count: one request, no nodes
                elif not 1 <= int(limit) <= PAGE_MAX:
                    which = "first" if first is not None else "last"
                    price.errors.append(
                        {
                            "type": "EXCESSIVE_PAGINATION",
                            "path": [*path, key],
                            "message": (
                                f"Requesting {limit} records on the `{name}` connection "
                                f"exceeds the `{which}` limit of {PAGE_MAX} records."
                            ),
                        }
                    )
                    limit = max(1, min(PAGE_MAX, int(limit)))
                price.requests += mult
                here = mult * int(limit)
                child_mult = here or mult
            elif "maxRepositories" in field_def.args:
                # A list of per-repository summaries: what it holds is fetched per entry.
                most = arg(sel, field_def, "maxRepositories") or DEFAULT_MAX_REPOSITORIES
                here = mult * int(most)
                child_mult = here
            sub = 0
            if sel.selection_set is not None:
                kind = graphql.get_named_type(field_def.type)
                sub = walk(sel.selection_set, kind, child_mult, [*path, key])
            nodes += here + sub
            if not path:
                price.top_nodes[key] = price.top_nodes.get(key, 0) + here + sub
        return nodes

    price.nodes = walk(operation.selection_set, root, 1, [])
    return price


# ------------------------------------------------------------------ resolvers
class GhError(Exception):
    """An error GitHub reports with a `type` (NOT_FOUND, ...)."""

    def __init__(self, kind: str, message: str):
        self.kind = kind
        super().__init__(message)


def _cursor(i: int) -> str:
    return base64.b64encode(f"cursor:{i}".encode()).decode()


def _offset(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        return int(base64.b64decode(cursor).decode().split(":", 1)[1])
    except (ValueError, IndexError):
        raise GhError(
            "INVALID_CURSOR_ARGUMENTS", f"`{cursor}` does not appear to be a valid cursor."
        ) from None


def connection(
    items: list,
    page: dict,
    *,
    node: Callable[[Any], Any] = lambda x: x,
    edge: Callable[[Any], dict] = lambda x: {},
    extra: dict | None = None,
) -> dict:
    """One page of a list as a GitHub connection (cursors are positions); `page` holds
    the field's arguments, of which `first`, `last`, `after` and `before` page it."""
    first, last = page.get("first"), page.get("last")
    after, before = page.get("after"), page.get("before")
    lo = (_offset(after) + 1) if after else 0
    hi = _offset(before) if before else len(items)
    window = list(range(max(0, lo), min(len(items), hi)))
    if first is not None:
        window = window[: max(0, int(first))]
    elif last is not None:
        window = window[-max(0, int(last)) :] if last else []
    nodes = [node(items[i]) for i in window]
    edges = [
        {"cursor": _cursor(i), "node": n, **edge(items[i])}
        for i, n in zip(window, nodes, strict=True)
    ]
    return {
        "totalCount": len(items),
        "nodes": nodes,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": bool(window) and window[-1] < min(len(items), hi) - 1,
            "hasPreviousPage": bool(window) and window[0] > 0,
            "startCursor": _cursor(window[0]) if window else None,
            "endCursor": _cursor(window[-1]) if window else None,
        },
        **(extra or {}),
    }


class Resolver:
    """Builds GraphQL objects (dicts; a callable value is a field with arguments) from the
    world, for one request."""

    def __init__(self, world: World, *, web_url: str, viewer: str | None):
        self.world = world
        self.web = web_url.rstrip("/")
        self.viewer_login = viewer

    # ---------------------------------------------------------------- root
    def root(self) -> dict:
        return {
            "user": lambda info, login: self.user_by_login(login),
            "repository": lambda info, owner, name, **_: self.repository_by_name(owner, name),
            "viewer": lambda info: self.user_by_login(self.viewer_login or ""),
            "rateLimit": lambda info, **_: info.context["rate_limit"],
        }

    def user_by_login(self, login: str) -> dict:
        try:
            u = self.world.get_user(login)
        except NotFound:
            raise GhError(
                "NOT_FOUND", f"Could not resolve to a User with the login of '{login}'."
            ) from None
        if u.type == "Organization":
            raise GhError("NOT_FOUND", f"Could not resolve to a User with the login of '{login}'.")
        return self.user(u)

    def repository_by_name(self, owner: str, name: str) -> dict:
        repo = self.world.get_repo_by_full_name(f"{owner}/{name}")
        if repo is None:
            raise GhError(
                "NOT_FOUND", f"Could not resolve to a Repository with the name '{owner}/{name}'."
            )
        return self.repository(repo)

    # ---------------------------------------------------------------- user
    def user(self, u: User) -> dict:
        world = self.world

        def repositories(info, **kw):
            repos = list(world.user_repos(u.login))
            affiliations = kw.get("ownerAffiliations")
            if affiliations and "OWNER" not in affiliations:
                repos = []
            if kw.get("isFork") is not None:
                repos = [r for r in repos if r.fork == kw["isFork"]]
            if kw.get("isArchived") is not None:
                repos = [r for r in repos if r.archived == kw["isArchived"]]
            if kw.get("privacy") == "PRIVATE":
                repos = []
            order = kw.get("orderBy") or {"field": "CREATED_AT", "direction": "ASC"}
            attr = {
                "CREATED_AT": lambda r: (r.created_at, r.id),
                "PUSHED_AT": lambda r: (r.pushed_at, r.id),
                "UPDATED_AT": lambda r: (r.updated_at, r.id),
                "NAME": lambda r: (r.name.lower(), r.id),
                "STARGAZERS": lambda r: (r.stars, r.id),
            }[order.get("field", "CREATED_AT")]
            repos.sort(key=attr, reverse=order.get("direction") == "DESC")
            return connection(
                repos,
                kw,
                node=self.repository,
                extra={"totalDiskUsage": 0, "isOverLimit": False},
            )

        def starred(info, **kw):
            items = list(world.starred(u.login))  # newest first
            order = kw.get("orderBy") or {"field": "STARRED_AT", "direction": "DESC"}
            if order.get("direction") == "ASC":
                items.reverse()
            return connection(
                items,
                kw,
                node=lambda item: self.repository(item[0]),
                edge=lambda item: {"starredAt": iso(item[1])},
                extra={"isOverLimit": False},
            )

        def counter(n: int):
            return lambda info, **_: {"totalCount": n, "nodes": [], "edges": []}

        return {
            "__typename": "User",
            "id": node_id("User", u.id),
            "databaseId": u.id,
            "login": u.login,
            "name": u.name,
            "bio": u.bio or "",
            "company": u.company,
            "location": u.location,
            "email": "",
            "websiteUrl": u.blog or None,
            "twitterUsername": None,
            "isHireable": False,
            "avatarUrl": lambda info, size=None: (
                f"{self.web}/_avatars/u/{u.id}?v=4" + (f"&s={size}" if size else "")
            ),
            "url": f"{self.web}/{u.login}",
            "createdAt": iso(u.created_at),
            "updatedAt": iso(u.updated_at),
            "followers": counter(u.followers),
            "following": counter(u.following),
            "repositories": repositories,
            "starredRepositories": starred,
            "contributionsCollection": lambda info, **kw: self.contributions(u, **kw),
        }

    def contributions(self, u: User, **kw) -> dict:
        from .routes_extra import contributions as contributions_of

        now = self.world.now
        t_to = parse_iso(kw["to"]) if kw.get("to") else None
        t_from = parse_iso(kw["from"]) if kw.get("from") else None
        if t_to is None:
            t_to = t_from + 365 * DAY if t_from is not None else int(now)
        if t_from is None:
            t_from = t_to - 365 * DAY
        if t_to - t_from > 366 * DAY:
            raise GhError(
                "ARGUMENT_LIMIT", "The total time spanned by 'from' and 'to' must not exceed 1 year"
            )
        commits, prs = contributions_of(self.world, u.login, t_from, t_to)

        def by_repo(rows):
            def answer(info, maxRepositories=DEFAULT_MAX_REPOSITORIES, **_):
                return [
                    {
                        "repository": self.repository(repo),
                        "contributions": {"totalCount": n, "nodes": [], "edges": []},
                    }
                    for repo, n in rows[: max(1, min(100, int(maxRepositories)))]
                ]

            return answer

        created_year = int(iso(u.created_at)[:4]) if u.created_at else int(iso(now)[:4])
        return {
            "startedAt": iso(t_from),
            "endedAt": iso(t_to),
            "commitContributionsByRepository": by_repo(commits),
            "pullRequestContributionsByRepository": by_repo(prs),
            "totalCommitContributions": sum(n for _, n in commits),
            "totalPullRequestContributions": sum(n for _, n in prs),
            "restrictedContributionsCount": 0,
            "hasAnyContributions": bool(commits or prs),
            "contributionYears": list(range(int(iso(now)[:4]), created_year - 1, -1)),
        }

    # ---------------------------------------------------------------- repository
    def repository(self, repo: Repo) -> dict:
        world = self.world

        def hist() -> History:
            return world.ensure_git(repo)

        def languages(info, **kw):
            sizes = world.languages(repo)
            items = sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))
            order = kw.get("orderBy") or {"field": "SIZE", "direction": "DESC"}
            if order.get("direction") == "ASC":
                items.reverse()
            return connection(
                items,
                kw,
                node=lambda kv: {
                    "__typename": "Language",
                    "name": kv[0],
                    "id": node_id("Language", kv[0]),
                },
                edge=lambda kv: {"size": kv[1]},
                extra={"totalSize": sum(sizes.values())},
            )

        def topics(info, **kw):
            return connection(
                list(repo.topics),
                kw,
                node=lambda t: {"topic": {"name": t}, "url": f"{self.web}/topics/{t}"},
            )

        def default_branch_ref(info):
            if repo.empty:
                return None
            h = hist()
            head = h.heads.get(repo.default_branch)
            if head is None:
                return None
            return self.ref(repo, h, repo.default_branch, head)

        def refs(info, refPrefix, **kw):
            if repo.empty or refPrefix != "refs/heads/":
                return connection([], kw)
            h = hist()
            names = sorted(h.heads)
            return connection(
                names,
                kw,
                node=lambda n: self.ref(repo, h, n, h.heads[n]),
            )

        def git_object(info, expression=None, oid=None):
            if repo.empty:
                return None
            return self.git_object(repo, hist(), expression, oid)

        def parent(info):
            if not (repo.fork and repo.parent):
                return None
            found = world.get_repo_by_full_name(repo.parent)
            return self.repository(found) if found else None

        owner = repo.owner
        primary = repo.language
        return {
            "__typename": "Repository",
            "id": node_id("Repository", repo.id),
            "databaseId": repo.id,
            "name": repo.name,
            "nameWithOwner": repo.full_name,
            "owner": {"__typename": "User", "login": owner, "url": f"{self.web}/{owner}"},
            "description": repo.description,
            "url": f"{self.web}/{repo.full_name}",
            "homepageUrl": repo.homepage,
            "isFork": repo.fork,
            "isArchived": repo.archived,
            "isPrivate": False,
            "isEmpty": repo.empty,
            "isTemplate": False,
            "isDisabled": False,
            "visibility": "PUBLIC",
            "createdAt": iso(repo.created_at),
            "updatedAt": iso(repo.updated_at),
            "pushedAt": iso(repo.pushed_at),
            "stargazerCount": repo.stars,
            "forkCount": repo.forks_count,
            "diskUsage": max(1, repo.stars // 10 + 20),
            "primaryLanguage": {"name": primary, "id": node_id("Language", primary)}
            if primary
            else None,
            "languages": languages,
            "repositoryTopics": topics,
            "defaultBranchRef": default_branch_ref,
            "refs": refs,
            "object": git_object,
            "parent": parent,
            "stargazers": lambda info, **_: {"totalCount": repo.stars, "nodes": [], "edges": []},
        }

    def ref(self, repo: Repo, h: History, name: str, idx: int) -> dict:
        return {
            "__typename": "Ref",
            "name": name,
            "prefix": "refs/heads/",
            "target": self.commit(repo, h, idx),
        }

    def commit(self, repo: Repo, h: History, idx: int) -> dict:
        c = h.commits[idx]
        world = self.world

        def history(info, **kw):
            author = kw.get("author") or {}
            since = parse_iso(kw["since"]) if kw.get("since") else None
            until = parse_iso(kw["until"]) if kw.get("until") else None
            emails = {e.lower() for e in author.get("emails") or ()}
            login = None
            if author.get("id"):
                login = self._login_of_node(author["id"])
                if login is None:
                    return connection([], kw)
            rows = []
            for a in h.ancestors(idx):
                if login is not None:
                    if not (a.login and a.login.lower() == login):
                        continue
                elif emails and a.email.lower() not in emails:
                    continue
                if since is not None and a.date < since:
                    continue
                if until is not None and a.date > until:
                    continue
                if kw.get("path") and not any(
                    p == kw["path"] or p.startswith(kw["path"].rstrip("/") + "/") for p in a.changes
                ):
                    continue
                rows.append(a.idx)
            return connection(
                rows,
                kw,
                node=lambda i: self.commit(repo, h, i),
            )

        def person() -> dict:
            user = None
            if c.login:
                try:
                    u = world.get_user(c.login)
                    user = {"login": u.login, "id": node_id("User", u.id), "databaseId": u.id}
                except NotFound:
                    user = None
            return {"name": c.name, "email": c.email, "date": iso(c.date), "user": user}

        return {
            "__typename": "Commit",
            "oid": h.shas[idx],
            "abbreviatedOid": h.shas[idx][:7],
            "committedDate": iso(c.date),
            "authoredDate": iso(c.date),
            "message": c.message,
            "messageHeadline": c.message.splitlines()[0] if c.message else "",
            "author": lambda info: person(),
            "committer": lambda info: person(),
            "history": history,
            "url": f"{self.web}/{repo.full_name}/commit/{h.shas[idx]}",
        }

    def _login_of_node(self, ident: str) -> str | None:
        try:
            raw = base64.b64decode(ident).decode()
        except ValueError:
            return None
        if not raw.startswith("04:User"):
            return None
        try:
            uid = int(raw[len("04:User") :])
        except ValueError:
            return None
        found = self.world.login_by_id(uid)
        return found.lower() if found else None

    def git_object(self, repo: Repo, h: History, expression: str | None, oid: str | None):
        if oid:
            idx = (h.sha_index or {}).get(oid.lower())
            return self.commit(repo, h, idx) if idx is not None else None
        if not expression:
            return None
        rev, sep, path = expression.partition(":")
        if rev in ("", "HEAD"):
            idx = h.heads.get(repo.default_branch)
        elif rev in h.heads:
            idx = h.heads[rev]
        elif rev.startswith("refs/heads/") and rev[11:] in h.heads:
            idx = h.heads[rev[11:]]
        else:
            idx = (h.sha_index or {}).get(rev.lower())
        if idx is None:
            return None
        if not sep:
            return self.commit(repo, h, idx)
        tree = h.tree(idx)
        path = path.strip("/")
        if path in tree:
            data = self.world.content_spec(repo).content(path, tree[path])
            binary = b"\x00" in data[:8000]
            text = None
            if not binary:
                text = data[:BLOB_TEXT_LIMIT].decode("utf-8", errors="replace")
            return {
                "__typename": "Blob",
                "byteSize": len(data),
                "isBinary": binary,
                "isTruncated": len(data) > BLOB_TEXT_LIMIT,
                "text": text,
                "oid": self.world.content_spec(repo).blob_sha(path, tree[path]),
            }
        prefix = path + "/" if path else ""
        names: dict[str, str] = {}
        for p in tree:
            if p.startswith(prefix):
                rest = p[len(prefix) :]
                head, slash, _ = rest.partition("/")
                names[head] = "tree" if slash else "blob"
        if not names:
            return None
        return {
            "__typename": "Tree",
            "entries": [
                {"name": n, "type": t, "path": prefix + n, "mode": 16384 if t == "tree" else 33188}
                for n, t in sorted(names.items())
            ],
        }


# ------------------------------------------------------------------ one request
@dataclass
class Prepared:
    """A parsed, validated and priced query (or the errors that stop it)."""

    answer: dict | None = None  # set when the query stops before it runs
    document: Any = None
    operation: OperationDefinitionNode | None = None
    variables: dict | None = None
    price: Price | None = None
    mutation: bool = False


def prepare(query: str, variables: dict, operation_name: str | None = None) -> Prepared:
    """Parse, validate against GitHub's schema, price; nothing runs."""
    schema = SCHEMA.get()
    try:
        document = graphql.parse(query)
    except GraphQLError as exc:
        return Prepared(answer={"errors": [_plain(exc)]})
    problems = graphql.validate(schema, document)
    if problems:
        return Prepared(answer={"errors": [_plain(e) for e in problems]})
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return Prepared(answer={"errors": [{"message": "An operation name is required"}]})
    operation = operations[0]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    coerced = graphql.execution.values.get_variable_values(
        schema, operation.variable_definitions or (), variables or {}
    )
    if isinstance(coerced, list):
        return Prepared(answer={"errors": [_plain(e) for e in coerced]})
    coerced = getattr(coerced, "coerced", coerced)  # graphql-core 3.3 wraps them
    price = price_query(schema, operation, fragments, coerced)
    if price.errors:
        return Prepared(answer={"errors": price.errors})
    if price.nodes > NODE_LIMIT:
        return Prepared(
            answer={
                "errors": [
                    {
                        "type": "MAX_NODE_LIMIT_EXCEEDED",
                        "message": (
                            f"This query requests up to {price.nodes:,} possible nodes which "
                            f"exceeds the maximum limit of {NODE_LIMIT:,}."
                        ),
                    }
                ]
            }
        )
    return Prepared(
        document=document,
        operation=operation,
        variables=variables or {},
        price=price,
        mutation=operation.operation.value == "mutation",
    )


def execute(
    world: World,
    prepared: Prepared,
    *,
    web_url: str,
    viewer: str | None,
    rate_limit: dict,
    resource_limit_nodes: int | None = None,
) -> tuple[dict, int]:
    """Run a prepared query; (answer, nodes in the answer)."""
    schema = SCHEMA.get()
    resolver = Resolver(world, web_url=web_url, viewer=viewer)
    result = graphql.execute(
        schema,
        prepared.document,
        root_value=resolver.root(),
        context_value={"rate_limit": rate_limit},
        variable_values=prepared.variables,
        operation_name=prepared.operation.name.value if prepared.operation.name else None,
    )
    data = result.data
    errors = [_typed(e) for e in result.errors or ()]
    price = prepared.price
    if resource_limit_nodes is not None and data and price.nodes > resource_limit_nodes:
        # The heaviest top-level fields go first until what is left fits.
        left = price.nodes
        for key, n in sorted(price.top_nodes.items(), key=lambda kv: -kv[1]):
            if left <= resource_limit_nodes or key not in data or key == "rateLimit":
                continue
            data[key] = None
            left -= n
            errors.append(
                {
                    "type": "RESOURCE_LIMITS_EXCEEDED",
                    "path": [key],
                    "message": "Resource limits for this query exceeded.",
                }
            )
    answer: dict = {"data": data}
    if errors:
        answer["errors"] = errors
    return answer, _count_nodes(data)


def _count_nodes(value) -> int:
    if isinstance(value, dict):
        return 1 + sum(_count_nodes(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count_nodes(v) for v in value)
    return 0


def _plain(exc: GraphQLError) -> dict:
    out: dict = {"message": exc.message}
    if exc.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in exc.locations]
    if exc.path:
        out["path"] = list(exc.path)
    return out


def _typed(exc: GraphQLError) -> dict:
    out = _plain(exc)
    original = exc.original_error
    if isinstance(original, GhError):
        out = {"type": original.kind, **out}
    return out
