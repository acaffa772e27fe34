"""GraphQL (ghsim.graphql_api), the OpenAI-compatible LLM endpoint and activity truths."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import re
import time

from aiohttp import web

from . import graphql_api as GQ
from .server import (
    SECONDARY_MSG,
    STATE_KEY,
    WORLD_KEY,
    bases,
    graphql_went_wrong,
    jresp,
    server_login,
    token_login,
    token_of,
    token_user_id,
)
from .state import State
from .util import DAY, h64, iso, parse_iso
from .world import NotFound, World

# ------------------------------------------------------------------ GraphQL
GQL_AUTH = {
    "message": "This endpoint requires you to be authenticated.",
    "documentation_url": (
        "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"
    ),
}


def contributions(world: World, login: str, t_from: int, t_to: int) -> tuple[list, list]:
    """(commit contributions, PR contributions) as [(repo, count)], largest first."""
    u = world.get_user(login)
    low = u.login.lower()
    cands = [r for r in world.user_repos(u.login) if not r.fork and not r.empty]
    if u.kind == "world":
        cands += [r for r in world.all_world_repos() if low in {c.lower() for c in r.contributors}]
    commits = []
    for repo in cands:
        if repo.pushed_at < t_from or repo.created_at > t_to:
            continue
        hist = world.history(repo)
        head = hist.heads.get(repo.default_branch)
        n = sum(
            1
            for c in hist.ancestors(head)
            if c.login and c.login.lower() == low and t_from <= c.date <= t_to
        )
        if n:
            commits.append((repo, n))
    prs = []
    window_overlaps = t_to >= world.now - 365 * DAY
    if u.kind == "world" and window_overlaps:
        for repo in world.all_world_repos():
            days = {k.lower(): v for k, v in repo.contributors.items()}.get(low)
            if days:
                prs.append((repo, max(1, days // 2)))
        for full, n in world.pr_only.get(u.login, []):
            repo = world.get_repo_by_full_name(full)
            if repo is not None:
                prs.append((repo, n))
    commits.sort(key=lambda x: (-x[1], x[0].full_name.lower()))
    prs.sort(key=lambda x: (-x[1], x[0].full_name.lower()))
    return commits, prs


async def graphql(request: web.Request):
    """POST /api/graphql: validated against GitHub's schema, priced by GitHub's formula,
    charged to the token's `graphql` budget, answered from the world (ghsim.graphql_api)."""
    world: World = request.app[WORLD_KEY]
    state: State = request.app[STATE_KEY]
    token = token_of(request)
    if not token:
        return jresp(GQL_AUTH, 401)
    try:
        body = await request.json()
    except (json.JSONDecodeError, ValueError):
        return jresp(
            {
                "message": "Problems parsing JSON",
                "documentation_url": GQL_AUTH["documentation_url"],
            },
            400,
        )
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return jresp(
            {"errors": [{"message": "A query attribute must be specified and must be a string."}]}
        )
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        variables = {}
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    prepared = await loop.run_in_executor(
        None, GQ.prepare, body["query"], variables, body.get("operationName")
    )
    if prepared.answer is not None:
        return jresp(prepared.answer)  # refused before it ran: no points
    ident = request.get("gh_ident") or f"token:{token}"
    budget = state.budget(ident, "graphql")
    price = prepared.price
    if state.graphql_minute_hit(ident, 5 if prepared.mutation else 1):
        state.secondary_limited += 1
        headers = state.headers(ident, "graphql", budget)
        headers["retry-after"] = "60"
        doc = "https://docs.github.com/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api#secondary-rate-limits"
        return jresp(
            {
                "message": SECONDARY_MSG.format(rid=f"{state.requests_total:08X}:0000"),
                "documentation_url": doc,
            },
            403,
            headers,
        )
    if not state.consume_points(ident, "graphql", budget, price.cost):
        state.primary_limited += 1
        user_id = token_user_id(world, token)
        message = f"API rate limit exceeded for user ID {user_id}."
        return jresp(
            {"errors": [{"type": "RATE_LIMITED", "code": "graphql_rate_limit", "message": message}]}
        )
    limit = state.limit_for(ident, "graphql")
    reset = int(budget.start + float(state.config["rate_window"]) + 0.999)
    rate_limit = {
        "cost": price.cost,
        "limit": limit,
        "remaining": max(0, limit - budget.used),
        "used": budget.used,
        "resetAt": iso(reset),
        "nodeCount": price.nodes,
    }
    _, web_url = bases(request)
    viewer = token_login(world, token) or server_login(token)
    answer, returned = await loop.run_in_executor(
        None,
        functools.partial(
            GQ.execute,
            world,
            prepared,
            web_url=web_url,
            viewer=viewer,
            rate_limit=rate_limit,
            resource_limit_nodes=state.config.get("graphql_resource_limit_nodes"),
        ),
    )
    latency = state.config.get("graphql_latency") or {}
    modelled = (
        float(latency.get("base_ms") or 0) + float(latency.get("per_node_ms") or 0) * returned
    )
    elapsed = time.monotonic() - started
    timeout = float(state.config.get("graphql_timeout_seconds") or 10)
    record = {"cost": price.cost, "nodes": price.nodes, "returned": returned}
    if elapsed + modelled / 1000 > timeout:
        await asyncio.sleep(max(0.0, timeout - elapsed))
        penalty = int(state.config.get("graphql_timeout_penalty") or 0)
        state.consume_points(ident, "graphql", budget, min(penalty, max(0, limit - budget.used)))
        state.graphql_queries.append({**record, "status": 502})
        return jresp(graphql_went_wrong(state.requests_total), 502)
    if modelled:
        await asyncio.sleep(modelled / 1000)
    state.graphql_queries.append({**record, "status": 200})
    return jresp(answer)


# ---------------------------------------------------------------------- LLM
LANGS = [
    "TypeScript",
    "JavaScript",
    "Python",
    "Go",
    "Rust",
    "Java",
    "Ruby",
    "Kotlin",
    "Swift",
    "C++",
    "C#",
    "Shell",
    "C",
]
TECH = [
    "Django",
    "Flask",
    "FastAPI",
    "React",
    "Vue",
    "Node.js",
    "Tokio",
    "PostgreSQL",
    "Redis",
    "Docker",
    "Celery",
    "pytest",
    "GraphQL",
    "gRPC",
    "Kubernetes",
]
KEYWORDS = [
    "data processing",
    "API design",
    "concurrency",
    "caching strategies",
    "parsing",
    "command-line UX",
    "testing",
    "performance tuning",
    "distributed systems",
    "developer tooling",
]
KINDS = [
    "command line tool",
    "web framework",
    "data pipeline",
    "developer utility",
    "parsing library",
    "network service",
    "static site generator",
    "task queue",
]


def _language_in(text: str) -> str | None:
    m = re.search(r"(?im)^\s*-?\s*language:\s*([A-Za-z+#.]+)", text)
    if m and m.group(1).lower() not in ("none", "null"):
        return m.group(1)
    best = None
    for lang in LANGS:
        m = re.search(rf"(?<![A-Za-z]){re.escape(lang)}(?![A-Za-z+#])", text)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), lang)
    return best[1] if best else None


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def llm_answer(task: str, prompt: str) -> dict:
    d = _digest(prompt)
    lang = _language_in(prompt)
    if task == "select_highlights":
        names = re.findall(r"(?m)^\s*name:\s*(.+?)\s*$", prompt)
        seen = []
        for n in names:
            if n not in seen:
                seen.append(n)
        return {"theme": f"{lang or 'open source'} developer tooling", "repos": seen[:3]}
    if task == "user_theme":
        return {"theme": f"{lang or 'open source'} systems and tooling"}
    if task == "repo_blurb":
        name = re.search(r"(?m)^\s*(?:name|repo|repository):\s*(.+?)\s*$", prompt)
        nm = name.group(1) if name else "This project"
        return {
            "blurb": (
                f"{nm} is a {lang or 'software'} project that provides a focused set of tools "
                f"for {KEYWORDS[d % len(KEYWORDS)]}. It is organised as a small codebase with "
                "documentation and tests, and is meant to be used as a library or from the "
                "command line."
            )
        }
    if task == "repo_emphasis":
        found = [t for t in TECH if re.search(rf"(?<![A-Za-z]){re.escape(t)}(?![A-Za-z])", prompt)]
        out = ([lang] if lang else []) + found
        if not out:
            out = ["Git"]
        return {"emphasis": out[:6]}
    if task == "repo_keywords":
        k = 1 + d % 4
        return {"keywords": [KEYWORDS[(d + i * 3) % len(KEYWORDS)] for i in range(k)]}
    if task == "repo_kind":
        return {"kind": KINDS[d % len(KINDS)]}
    if task == "feed_judgments":
        ids = re.findall(r"(?m)^\s*id:\s*(.+?)\s*$", prompt)
        return {"judgments": [{"id": i, "include": h64("judge", i) % 3 != 0} for i in ids]}
    return {"answer": "ok"}


def _content_text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _malform(obj: dict, mode: str, n: int) -> str:
    if mode == "missing":
        # Valid JSON with a key left out: the first judgment's "include", else the
        # answer's first key.
        obj = json.loads(json.dumps(obj))
        rows = obj.get("judgments")
        if isinstance(rows, list) and rows:
            rows[0].pop("include", None)
        elif obj:
            obj.pop(next(iter(obj)))
        return json.dumps(obj)
    if mode == "garbage":
        return "I'm sorry, but I can't produce that right now. Please try again later."
    if mode == "repairable":
        text = json.dumps(obj, indent=2)
        if n % 2 == 0:
            text = text[: text.rstrip().rfind("}")].rstrip() + ",\n}"
        else:
            text = text.replace('"', "'")
        return (
            f"Sure! Here is the JSON you asked for:\n```json\n{text}\n```\n"
            "Let me know if you need anything else."
        )
    return json.dumps(obj)


def _oai_error(message: str, typ: str, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": typ, "param": param, "code": None}}


async def chat_completions(request: web.Request):
    state = request.app[STATE_KEY]
    try:
        body = await request.json()
    except (json.JSONDecodeError, ValueError):
        return jresp(
            {
                "error": {
                    "message": "Invalid JSON body",
                    "type": "invalid_request_error",
                    "param": None,
                    "code": None,
                }
            },
            400,
        )
    msgs = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(msgs, list) or not msgs:
        return jresp(
            {
                "error": {
                    "message": "'messages' is required",
                    "type": "invalid_request_error",
                    "param": "messages",
                    "code": None,
                }
            },
            400,
        )
    texts = [_content_text(m.get("content")) for m in msgs if isinstance(m, dict)]
    first = texts[0] if texts else ""
    m = re.match(r"\s*task:\s*([\w.-]+)", first)
    task = m.group(1) if m else "unknown"
    prompt = "\n".join(texts)
    state.llm_calls[task] += 1
    state.llm_items[task].append(len(re.findall(r"(?m)^\s*id:\s*\S", prompt)))
    llm = state.config["llm"]
    if state.llm_fault():
        st = int(llm.get("error_status") or 500)
        typ = "rate_limit_error" if st == 429 else "server_error"
        msg = (
            "Rate limit reached for requests"
            if st == 429
            else "The server had an error while processing your request."
        )
        headers = {"retry-after": "1"} if st == 429 else None
        return jresp(
            {"error": {"message": msg, "type": typ, "param": None, "code": None}}, st, headers
        )
    n = state.llm_calls[task]
    obj = llm_answer(task, prompt)
    content = _malform(obj, llm.get("malformed") or "none", n)
    model = body.get("model") or "ghsim-llm"
    pt = max(1, len(prompt) // 4)
    ct = max(1, len(content) // 4)
    cid = f"chatcmpl-{_digest(prompt + task) % 16**24:024x}"
    if body.get("stream"):
        return await _stream(request, cid, model, content, pt, ct)
    return jresp(
        {
            "id": cid,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct},
        }
    )


async def _stream(request, cid: str, model: str, content: str, pt: int, ct: int):
    resp = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await resp.prepare(request)
    created = int(time.time())

    def chunk(delta: dict, finish: str | None, usage: dict | None = None) -> bytes:
        d = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if usage:
            d["usage"] = usage
        return b"data: " + json.dumps(d).encode() + b"\n\n"

    await resp.write(chunk({"role": "assistant", "content": ""}, None))
    await resp.write(chunk({"content": content}, None))
    usage = {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct}
    await resp.write(chunk({}, "stop", usage))
    await resp.write(b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp


async def models(request: web.Request):
    return jresp(
        {
            "object": "list",
            "data": [{"id": "ghsim-llm", "object": "model", "created": 0, "owned_by": "ghsim"}],
        }
    )


# ------------------------------------------------------------------ truths
async def truth_active_days(request: web.Request):
    world: World = request.app[WORLD_KEY]
    q = request.query
    until = parse_iso(q["until"]) if q.get("until") else None
    since = parse_iso(q["since"]) if q.get("since") else None
    loop = asyncio.get_running_loop()
    try:
        out = await loop.run_in_executor(
            None, world.active_days, request.match_info["user"], since, until
        )
    except NotFound:
        return jresp({"message": "Not Found"}, 404)
    return jresp(out)


async def truth_nominees(request: web.Request):
    world: World = request.app[WORLD_KEY]
    loop = asyncio.get_running_loop()
    try:
        out = await loop.run_in_executor(None, world.highlight_nominees, request.match_info["user"])
    except NotFound:
        return jresp({"message": "Not Found"}, 404)
    return jresp(out)


def register(app: web.Application) -> None:
    GQ.SCHEMA.start()  # GitHub's schema takes seconds to build: begin before the first query
    r = app.router
    r.add_post("/api/graphql", graphql, name="graphql")
    r.add_post("/v1/chat/completions", chat_completions, name="llm")
    r.add_get("/v1/models", models, name="llm_models")
    r.add_get("/_sim/truth/users/{user}/active-days", truth_active_days)
    r.add_get("/_sim/truth/users/{user}/highlight-nominees", truth_nominees)
