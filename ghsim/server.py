"""aiohttp application serving the simulated GitHub (REST, GraphQL, web, git, LLM)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from urllib.parse import urlencode

from aiohttp import web

from . import payloads as P
from .state import State
from .util import h64, iso, node_id
from .world import STAR_CAP_PAGES, NotFound, World

API = "/api/v3"
STAR_JSON = "star+json"
PAGINATION_LIMITED = (
    "In order to keep the API fast for everyone, pagination is limited for this resource. "
    "Check the rel=last link relation in the Link response header to see how far back "
    "you can traverse."
)
SECONDARY_MSG = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {rid}."
)
WORLD_KEY = web.AppKey("world", World)
STATE_KEY = web.AppKey("state", State)


def dumps(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def jresp(obj, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(
        body=dumps(obj),
        status=status,
        headers=headers,
        content_type="application/json",
        charset="utf-8",
    )


def not_found(doc: str = "https://docs.github.com/rest") -> web.Response:
    return jresp(P.error("Not Found", doc, 404), 404)


def bases(request: web.Request) -> tuple[str, str]:
    web_base = f"{request.scheme}://{request.host}"
    return web_base + API, web_base


def wants_star(request: web.Request) -> bool:
    return STAR_JSON in request.headers.get("Accept", "")


def page_params(request: web.Request, default: int = 30, maximum: int = 100) -> tuple[int, int]:
    q = request.query
    try:
        per_page = int(q.get("per_page", default))
    except ValueError:
        per_page = default
    if per_page < 1:
        per_page = default
    per_page = min(per_page, maximum)
    try:
        page = int(q.get("page", 1))
    except ValueError:
        page = 1
    return max(page, 1), per_page


def link_header(request: web.Request, page: int, last: int) -> str | None:
    if last <= 1 and page <= 1:
        return None
    _api, _ = bases(request)
    base = f"{request.scheme}://{request.host}{request.path}"
    items = [(k, v) for k, v in request.query.items() if k != "page"]

    def url(p: int) -> str:
        return f"{base}?{urlencode([*items, ('page', str(p))])}"

    parts = []
    if page > 1:
        parts.append(f'<{url(min(page - 1, max(last, 1)))}>; rel="prev"')
    if page < last:
        parts.append(f'<{url(page + 1)}>; rel="next"')
        parts.append(f'<{url(last)}>; rel="last"')
    if page > 1:
        parts.append(f'<{url(1)}>; rel="first"')
    return ", ".join(parts) or None


def paged(
    request: web.Request,
    items_total: int,
    page: int,
    per_page: int,
    body,
    cap_last: int | None = None,
):
    last = max(1, -(-items_total // per_page)) if items_total else 1
    if cap_last is not None:
        last = min(last, cap_last)
    headers = {}
    lk = link_header(request, page, last if items_total else 1)
    if lk:
        headers["Link"] = lk
    return jresp(body, headers=headers)


# ---------------------------------------------------------------- identity
def token_of(request: web.Request) -> str | None:
    h = request.headers.get("Authorization")
    if not h:
        return None
    parts = h.split(None, 1)
    if len(parts) == 2 and parts[0].lower() in ("token", "bearer"):
        return parts[1].strip() or None
    return None


def token_login(world: World, token: str | None) -> str | None:
    if token and token.startswith("sim_"):
        login = token[4:].split("_", 1)[0]
        try:
            return world.get_user(login).login
        except NotFound:
            return None
    return None


def server_login(token: str) -> str:
    """The login of the anonymous user owning a non-``sim_`` token."""
    return f"ghsim-server-{h64('tokenuser', token) % 16**8:08x}"


def token_user_id(world: World, token: str) -> int:
    login = token_login(world, token) or server_login(token)
    return world.get_user(login).id


async def authenticated_user(request: web.Request):
    world = request.app[WORLD_KEY]
    api, wb = bases(request)
    token = token_of(request)
    if not token:
        return jresp(
            P.error("Requires authentication", "https://docs.github.com/rest/users/users", 401), 401
        )
    login = token_login(world, token) or server_login(token)
    return jresp(P.full_user(world, world.get_user(login), api, wb))


async def authenticated_starred(request: web.Request):
    world = request.app[WORLD_KEY]
    token = token_of(request)
    if not token:
        return jresp(
            P.error("Requires authentication", "https://docs.github.com/rest/users/users", 401), 401
        )
    request.match_info["user"] = token_login(world, token) or server_login(token)
    return await user_starred(request)


def kind_of(path: str) -> str:
    if path.startswith(API + "/") or path == API:
        return "api"
    if path.startswith("/api/graphql"):
        return "graphql"
    if path.startswith("/v1/"):
        return "llm"
    if path.startswith("/_sim"):
        return "sim"
    return "web"


# --------------------------------------------------------------- middleware
def _etag_match(inm: str, etag: str) -> bool:
    want = etag[2:] if etag.startswith("W/") else etag
    for part in inm.split(","):
        p = part.strip()
        if p == "*":
            return True
        if p.startswith("W/"):
            p = p[2:]
        if p == want:
            return True
    return False


def _blocked(state: State, path: str, kind: str) -> web.Response | None:
    """451 for a repo in `blocked_repos` (REST under /repos/{o}/{r}, git and raw)."""
    names = state.config.get("blocked_repos") or []
    if not names:
        return None
    parts = path.strip("/").split("/")
    if kind == "api" and len(parts) >= 5 and parts[2] == "repos":
        full = f"{parts[3]}/{parts[4]}"
    elif kind == "web" and len(parts) >= 2:
        full = f"{parts[0]}/{parts[1].removesuffix('.git')}"
    else:
        return None
    if full.lower() not in {str(n).lower() for n in names}:
        return None
    return jresp(
        {
            "message": "Repository access blocked",
            "block": {"reason": "dmca", "created_at": "2026-01-01T00:00:00Z"},
        },
        451,
    )


@web.middleware
async def gh_middleware(request: web.Request, handler):
    state: State = request.app[STATE_KEY]
    world: World = request.app[WORLD_KEY]
    path = request.path
    kind = kind_of(path)
    if kind == "sim":
        return await handler(request)
    state.requests_total += 1
    token = token_of(request)
    ident = f"token:{token}" if token else f"ip:{request.remote}"
    state.by_token[token or ident] += 1

    fault = state.fault_for(path) if kind != "llm" else None
    if fault:
        state.faults[fault] += 1
        if fault != "slow":
            state.fault_kinds[kind] += 1
        if fault == "drop":
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError()
        if fault == "error":
            st = int(state.config["faults"].get("error_status") or 502)
            state.by_status[str(st)] += 1
            if kind == "graphql":
                return jresp(graphql_went_wrong(state.requests_total), st)
            return jresp({"message": "Server Error"}, st)
        await asyncio.sleep(float(state.config["faults"].get("slow_ms") or 0) / 1000.0)

    blocked = _blocked(state, path, kind)
    if blocked is not None:
        state.by_status["451"] += 1
        return blocked

    if kind not in ("api", "graphql"):
        resp = await _run(request, handler)
        state.by_status[str(resp.status)] += 1
        return resp

    resource = "graphql" if kind == "graphql" else "core"
    request["gh_ident"] = ident
    if path == API + "/rate_limit":
        resp = await _run(request, handler)
        b = state.budget(ident, "core")
        resp.headers.update(state.headers(ident, "core", b))
        state.by_status[str(resp.status)] += 1
        return resp

    b = state.budget(ident, resource)
    if state.secondary_hit(ident, token):
        state.secondary_limited += 1
        n = state.requests_total
        rid = f"{h64('rid', n) & 0xFFFFFFFF:08X}:{h64('rid2', n) & 0xFFFF:04X}"
        sec = state.config["secondary"]
        st = int(sec.get("status") or 403)
        headers = state.headers(ident, resource, b)
        headers["retry-after"] = str(int(sec.get("retry_after") or 60))
        state.by_status[str(st)] += 1
        doc = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
        return jresp(
            {"message": SECONDARY_MSG.format(rid=rid), "documentation_url": doc}, st, headers
        )

    resp = await _run(request, handler)
    if request.method == "GET" and resp.status == 200 and isinstance(resp.body, bytes | bytearray):
        etag = 'W/"' + hashlib.md5(resp.body, usedforsecurity=False).hexdigest() + '"'
        resp.headers["ETag"] = etag
        inm = request.headers.get("If-None-Match")
        if inm and _etag_match(inm, etag):
            headers = {"ETag": etag}
            for k in ("Link", "Cache-Control"):
                if k in resp.headers:
                    headers[k] = resp.headers[k]
            resp = web.Response(status=304, headers=headers)
            state.not_modified += 1
    if resp.status == 304 and token:
        pass  # conditional requests answered 304 are free when authenticated
    elif kind == "graphql":
        pass  # the GraphQL handler charged the query's points (or refused it)
    elif not state.consume(ident, resource, b):
        state.primary_limited += 1
        st = int(state.config.get("primary_status") or 403)
        if token:
            msg = f"API rate limit exceeded for user ID {token_user_id(world, token)}."
        else:
            msg = (
                f"API rate limit exceeded for {request.remote}. (But here's the good news: "
                "Authenticated requests get a higher rate limit. Check out the documentation "
                "for more details.)"
            )
        doc = "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"
        body = {"message": msg, "documentation_url": doc}
        if kind == "graphql":
            body = {
                "errors": [{"type": "RATE_LIMITED", "code": "graphql_rate_limit", "message": msg}]
            }
        resp = jresp(body, st)
    resp.headers.update(state.headers(ident, resource, b))
    resp.headers["x-github-media-type"] = "github.v3; format=json"
    resp.headers["x-github-api-version-selected"] = "2022-11-28"
    state.by_status[str(resp.status)] += 1
    return resp


def graphql_went_wrong(n: int) -> dict:
    """GitHub's answer to a GraphQL query that failed inside (a timeout, a bug)."""
    rid = f"{h64('rid', n) & 0xFFFFFFFF:08X}:{h64('rid2', n) & 0xFFFF:04X}"
    return {
        "data": None,
        "errors": [
            {
                "message": (
                    "Something went wrong while executing your query. This may be the result "
                    "of a timeout, or it could be a GitHub bug. Please include "
                    f"`{rid}` when reporting this issue."
                )
            }
        ],
    }


async def _run(request: web.Request, handler) -> web.StreamResponse:
    state: State = request.app[STATE_KEY]
    try:
        resp = await handler(request)
    except web.HTTPException as exc:
        if exc.status == 404 and kind_of(request.path) in ("api", "graphql"):
            resp = not_found()
        else:
            raise
    except NotFound:
        resp = not_found()
    route = request.match_info.route
    name = getattr(route, "name", None) or ("unknown" if resp.status != 404 else "not_found")
    state.by_kind[name] += 1
    return resp


# ------------------------------------------------------------- REST: users
async def get_user(request: web.Request):
    world = request.app[WORLD_KEY]
    api, wb = bases(request)
    try:
        u = world.get_user(request.match_info["user"])
    except NotFound:
        return not_found("https://docs.github.com/rest/users/users#get-a-user")
    return jresp(P.full_user(world, u, api, wb))


def _sort_repos(repos, sort: str, direction: str | None):
    if sort not in ("created", "updated", "pushed", "full_name"):
        sort = "full_name"
    if direction not in ("asc", "desc"):
        direction = "asc" if sort == "full_name" else "desc"
    keyf = {
        "created": lambda r: (r.created_at, r.id),
        "updated": lambda r: (r.updated_at, r.id),
        "pushed": lambda r: (r.pushed_at, r.id),
        "full_name": lambda r: r.full_name.lower(),
    }[sort]
    return sorted(repos, key=keyf, reverse=(direction == "desc"))


async def user_repos(request: web.Request):
    world = request.app[WORLD_KEY]
    api, wb = bases(request)
    try:
        repos = world.user_repos(request.match_info["user"])
    except NotFound:
        return not_found("https://docs.github.com/rest/repos/repos#list-repositories-for-a-user")
    typ = request.query.get("type", "owner")
    if typ == "member":
        repos = []
    repos = _sort_repos(
        repos, request.query.get("sort", "full_name"), request.query.get("direction")
    )
    page, per_page = page_params(request)
    chunk = repos[(page - 1) * per_page : page * per_page]
    body = [P.repo_payload(world, r, api, wb) for r in chunk]
    return paged(request, len(repos), page, per_page, body)


async def user_starred(request: web.Request):
    world = request.app[WORLD_KEY]
    api, wb = bases(request)
    try:
        loop = asyncio.get_running_loop()
        items = await loop.run_in_executor(None, world.starred, request.match_info["user"])
    except NotFound:
        return not_found(
            "https://docs.github.com/rest/activity/starring#list-repositories-starred-by-a-user"
        )
    sort = request.query.get("sort", "created")
    direction = request.query.get("direction", "desc")
    if sort == "updated":
        items = sorted(items, key=lambda x: (x[0].updated_at, x[0].id), reverse=True)
    if direction == "asc":
        items = list(reversed(items))
    page, per_page = page_params(request)
    chunk = items[(page - 1) * per_page : page * per_page]
    if wants_star(request):
        body = [{"starred_at": iso(t), "repo": P.repo_payload(world, r, api, wb)} for r, t in chunk]
    else:
        body = [P.repo_payload(world, r, api, wb) for r, t in chunk]
    return paged(request, len(items), page, per_page, body)


# -------------------------------------------------------------- REST: repos
async def get_repo(request: web.Request):
    world = request.app[WORLD_KEY]
    api, wb = bases(request)
    try:
        repo = world.get_repo(request.match_info["owner"], request.match_info["repo"])
    except NotFound:
        return not_found("https://docs.github.com/rest/repos/repos#get-a-repository")
    return jresp(P.repo_payload(world, repo, api, wb, full=True))


def stargazers_allowed(request: web.Request, repo) -> bool:
    world = request.app[WORLD_KEY]
    state = request.app[STATE_KEY]
    if not (repo.restricted or state.config.get("restrict_stargazers")):
        return True
    login = token_login(world, token_of(request))
    if not login:
        return False
    allowed = world.collaborators(repo)
    extra = state.config.get("collaborators", {}).get(repo.full_name, [])
    allowed |= {x.lower() for x in extra}
    return login.lower() in allowed


async def stargazers(request: web.Request):
    world = request.app[WORLD_KEY]
    state = request.app[STATE_KEY]
    api, wb = bases(request)
    doc = "https://docs.github.com/rest/activity/starring#list-stargazers"
    try:
        repo = world.get_repo(request.match_info["owner"], request.match_info["repo"])
    except NotFound:
        return not_found(doc)
    if not stargazers_allowed(request, repo):
        mode = state.config.get("restricted_response", 404)
        if str(mode) == "403":
            return jresp(
                P.error(
                    "Must have admin rights to Repository or be a collaborator to list stargazers.",
                    doc,
                    403,
                ),
                403,
            )
        if str(mode) in ("empty", "200"):
            return jresp([])
        return not_found(doc)
    page, per_page = page_params(request)
    if page > STAR_CAP_PAGES:
        return jresp(
            P.error(PAGINATION_LIMITED, "https://docs.github.com/v3/#pagination", 422), 422
        )
    start = (page - 1) * per_page
    stop = min(start + per_page, repo.stars)
    tmpl = _user_template(api, wb)
    parts = []
    star = wants_star(request)
    for i in range(start, stop):
        slot = world.stargazer_slot(repo, i)
        uid = 1_000_000 + slot
        frag = tmpl % {"l": world.pool_login(slot), "i": uid, "n": node_id("User", uid)}
        if star:
            frag = '{"starred_at":"' + iso(world.star_time(repo, i)) + '","user":' + frag + "}"
        parts.append(frag)
    resp = paged(request, repo.stars, page, per_page, [], cap_last=STAR_CAP_PAGES)
    resp.body = ("[" + ",".join(parts) + "]").encode()
    return resp


_TEMPLATES: dict[tuple[str, str], str] = {}


def _user_template(api: str, wb: str) -> str:
    """A %-format template of the simple user JSON (same bytes as the dict path)."""
    key = (api, wb)
    t = _TEMPLATES.get(key)
    if t is None:
        from .world import User

        fake = User(login="@@LOGIN@@", id=987654321987, kind="pool")
        d = P.simple_user(fake, api, wb)
        d["node_id"] = "@@NODE@@"
        t = dumps(d).decode().replace("%", "%%")
        t = t.replace("@@LOGIN@@", "%(l)s").replace("987654321987", "%(i)d")
        t = t.replace("@@NODE@@", "%(n)s")
        _TEMPLATES[key] = t
    return t


async def stargazers_history(request: web.Request):
    world = request.app[WORLD_KEY]
    try:
        repo = world.get_repo(request.match_info["owner"], request.match_info["repo"])
    except NotFound:
        return not_found()
    loop = asyncio.get_running_loop()
    hist = await loop.run_in_executor(None, world.star_history, repo)
    page, per_page = page_params(request)
    chunk = hist[(page - 1) * per_page : page * per_page]
    return paged(request, len(hist), page, per_page, chunk)


async def rate_limit(request: web.Request):
    state = request.app[STATE_KEY]
    token = token_of(request)
    ident = f"token:{token}" if token else f"ip:{request.remote}"
    res = {}
    for name in ("core", "graphql"):
        b = state.budget(ident, name)
        h = state.headers(ident, name, b)
        res[name] = {
            "limit": int(h["x-ratelimit-limit"]),
            "used": b.used,
            "remaining": int(h["x-ratelimit-remaining"]),
            "reset": int(h["x-ratelimit-reset"]),
        }
    reset = int(time.time()) + 60
    search_limit = 30 if token else 10
    res["search"] = {"limit": search_limit, "used": 0, "remaining": search_limit, "reset": reset}
    res["integration_manifest"] = {"limit": 5000, "used": 0, "remaining": 5000, "reset": reset}
    res["code_search"] = {"limit": 10, "used": 0, "remaining": 10, "reset": reset}
    return jresp({"resources": res, "rate": res["core"]})


# ------------------------------------------------------------------ /_sim
async def sim_config_get(request: web.Request):
    return jresp(request.app[STATE_KEY].config)


async def sim_config_post(request: web.Request):
    try:
        patch = await request.json()
    except (json.JSONDecodeError, ValueError):
        return jresp({"message": "body must be a JSON object"}, 400)
    if not isinstance(patch, dict):
        return jresp({"message": "body must be a JSON object"}, 400)
    faults = patch.get("faults")
    pattern = faults.get("path_pattern") if isinstance(faults, dict) else None
    if pattern:
        try:
            re.compile(pattern)
        except (re.error, TypeError):
            return jresp({"message": "faults.path_pattern must be a regular expression"}, 400)
    return jresp(request.app[STATE_KEY].configure(patch))


async def sim_reset(request: web.Request):
    state = request.app[STATE_KEY]
    state.reset()
    return jresp({"ok": True, "config": state.config})


async def sim_stats(request: web.Request):
    return jresp(request.app[STATE_KEY].stats())


async def sim_bench_repos(request: web.Request):
    world = request.app[WORLD_KEY]
    try:
        total = int(request.query.get("total_edges", "1000000"))
    except ValueError:
        return jresp({"message": "total_edges must be an integer"}, 400)
    repos = world.bench_repos(total)
    return jresp(
        {
            "total_edges": sum(r["stargazers_count"] for r in repos),
            "count": len(repos),
            "repos": repos,
        }
    )


async def truth_users(request: web.Request):
    return jresp(request.app[WORLD_KEY].truth_users())


async def truth_stargazers(request: web.Request):
    world = request.app[WORLD_KEY]
    try:
        q = request.query
        limit = int(q.get("limit", "100000"))
        start = int(q.get("start", "0"))
        stop = int(q["stop"]) if q.get("stop") else None
        loop = asyncio.get_running_loop()
        out = await loop.run_in_executor(
            None,
            world.truth_stargazers,
            request.match_info["owner"],
            request.match_info["repo"],
            limit,
            start,
            stop,
        )
    except ValueError:
        return jresp({"message": "limit/start/stop must be integers"}, 400)
    except NotFound:
        return jresp({"message": "Not Found"}, 404)
    return jresp(out)


async def truth_starred(request: web.Request):
    world = request.app[WORLD_KEY]
    try:
        loop = asyncio.get_running_loop()
        out = await loop.run_in_executor(None, world.truth_starred, request.match_info["user"])
    except NotFound:
        return jresp({"message": "Not Found"}, 404)
    return jresp(out)


# -------------------------------------------------------------------- app
def build_app(world: World, state: State | None = None) -> web.Application:
    app = web.Application(middlewares=[gh_middleware], client_max_size=64 * 1024**2)
    app[WORLD_KEY] = world
    app[STATE_KEY] = state or State()
    r = app.router
    r.add_get(API + "/rate_limit", rate_limit, name="rate_limit")
    r.add_get(API + "/user", authenticated_user, name="authenticated_user")
    r.add_get(API + "/user/starred", authenticated_starred, name="authenticated_starred")
    r.add_get(API + "/users/{user}", get_user, name="user")
    r.add_get(API + "/users/{user}/repos", user_repos, name="user_repos")
    r.add_get(API + "/users/{user}/starred", user_starred, name="starred")
    r.add_get(API + "/repos/{owner}/{repo}", get_repo, name="repo")
    r.add_get(API + "/repos/{owner}/{repo}/stargazers", stargazers, name="stargazers")
    r.add_get(
        API + "/repos/{owner}/{repo}/stargazers/history",
        stargazers_history,
        name="stargazers_history",
    )
    r.add_get("/_sim/config", sim_config_get)
    r.add_post("/_sim/config", sim_config_post)
    r.add_post("/_sim/reset", sim_reset)
    r.add_get("/_sim/stats", sim_stats)
    r.add_get("/_sim/bench-repos", sim_bench_repos)
    r.add_get("/_sim/truth/users", truth_users)
    r.add_get("/_sim/truth/repos/{owner}/{repo}/stargazers", truth_stargazers)
    r.add_get("/_sim/truth/users/{user}/starred", truth_starred)
    from . import oauth

    oauth.register(app)
    from . import routes_content

    routes_content.register(app)
    from . import routes_extra

    routes_extra.register(app)
    return app
