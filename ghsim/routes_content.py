"""Repository content endpoints: commits, branches, languages, README, raw files,
images and git smart HTTP."""

from __future__ import annotations

import asyncio
import base64
import difflib
import os
import re

from aiohttp import web

from . import payloads as P
from .history import History
from .images import png
from .readme import readme_images_truth
from .server import (
    API,
    STATE_KEY,
    WORLD_KEY,
    bases,
    jresp,
    not_found,
    page_params,
    paged,
)
from .util import iso, node_id, parse_iso
from .world import NotFound, Repo, World

EMPTY_MSG = "Git Repository is empty."


async def _repo(request: web.Request) -> Repo:
    world: World = request.app[WORLD_KEY]
    return world.get_repo(request.match_info["owner"], request.match_info["repo"])


async def _hist(request: web.Request, repo: Repo) -> History:
    world: World = request.app[WORLD_KEY]
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, world.ensure_git, repo)


def _resolve(hist: History, ref: str | None, default: str) -> int | None:
    if not ref:
        return hist.heads.get(default)
    if ref in hist.heads:
        return hist.heads[ref]
    if ref.startswith("refs/heads/") and ref[11:] in hist.heads:
        return hist.heads[ref[11:]]
    low = ref.lower()
    if re.fullmatch(r"[0-9a-f]{7,40}", low) and hist.sha_index is not None:
        if len(low) == 40:
            return hist.sha_index.get(low)
        for sha, i in hist.sha_index.items():
            if sha.startswith(low):
                return i
    return None


def _user_or_none(world: World, login: str | None, api: str, wb: str):
    if not login:
        return None
    try:
        return P.simple_user(world.get_user(login), api, wb)
    except NotFound:
        return None


def commit_payload(world: World, repo: Repo, hist: History, idx: int, api: str, wb: str) -> dict:
    c = hist.commits[idx]
    sha = hist.shas[idx]
    ra = f"{api}/repos/{repo.full_name}"
    person = {"name": c.name, "email": c.email, "date": iso(c.date)}
    user = _user_or_none(world, c.login, api, wb)
    parents = []
    if c.parent is not None:
        ps = hist.shas[c.parent]
        parents.append(
            {
                "sha": ps,
                "url": f"{ra}/commits/{ps}",
                "html_url": f"{wb}/{repo.full_name}/commit/{ps}",
            }
        )
    return {
        "sha": sha,
        "node_id": node_id("Commit", f"{repo.id}:{sha}"),
        "commit": {
            "author": dict(person),
            "committer": dict(person),
            "message": c.message,
            "tree": {"sha": hist.trees[idx], "url": f"{ra}/git/trees/{hist.trees[idx]}"},
            "url": f"{ra}/git/commits/{sha}",
            "comment_count": 0,
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        },
        "url": f"{ra}/commits/{sha}",
        "html_url": f"{wb}/{repo.full_name}/commit/{sha}",
        "comments_url": f"{ra}/commits/{sha}/comments",
        "author": user,
        "committer": user,
        "parents": parents,
    }


def _touches(c, path: str) -> bool:
    path = path.strip("/")
    return any(p == path or p.startswith(path + "/") for p in c.changes)


async def list_commits(request: web.Request):
    world: World = request.app[WORLD_KEY]
    api, wb = bases(request)
    doc = "https://docs.github.com/rest/commits/commits#list-commits"
    try:
        repo = await _repo(request)
    except NotFound:
        return not_found(doc)
    if repo.empty:
        return jresp(P.error(EMPTY_MSG, doc, 409), 409)
    hist = await _hist(request, repo)
    q = request.query
    start = _resolve(hist, q.get("sha"), repo.default_branch)
    if start is None:
        return jresp(P.error(f"No commit found for SHA: {q.get('sha')}", doc, 404), 404)
    author = (q.get("author") or "").lower()
    since = parse_iso(q["since"]) if q.get("since") else None
    until = parse_iso(q["until"]) if q.get("until") else None
    if (q.get("since") and since is None) or (q.get("until") and until is None):
        return jresp(P.error("Invalid date", doc, 422), 422)
    path = q.get("path")
    rows = []
    for c in hist.ancestors(start):
        if author and not ((c.login and c.login.lower() == author) or c.email.lower() == author):
            continue
        if since is not None and c.date < since:
            continue
        if until is not None and c.date > until:
            continue
        if path and not _touches(c, path):
            continue
        rows.append(c.idx)
    page, per_page = page_params(request)
    chunk = rows[(page - 1) * per_page : page * per_page]
    body = [commit_payload(world, repo, hist, i, api, wb) for i in chunk]
    return paged(request, len(rows), page, per_page, body)


def _patch(old: bytes | None, new: bytes | None) -> tuple[str | None, int, int]:
    def lines(b):
        return [] if b is None else b.decode("utf-8").splitlines()

    try:
        a, b = lines(old), lines(new)
    except UnicodeDecodeError:
        return None, 0, 0
    diff = list(difflib.unified_diff(a, b, lineterm="", n=3))[2:]
    adds = sum(1 for d in diff if d.startswith("+"))
    dels = sum(1 for d in diff if d.startswith("-"))
    return "\n".join(diff), adds, dels


def _file_entries(repo: Repo, hist: History, spec, idx: int, api: str, wb: str) -> list[dict]:
    c = hist.commits[idx]
    sha = hist.shas[idx]
    out = []
    for path in sorted(c.changes):
        v = c.changes[path]
        prev = hist.previous_version(idx, path)
        old = spec.content(path, prev) if prev is not None else None
        new = spec.content(path, v) if v is not None else None
        status = "removed" if v is None else ("added" if prev is None else "modified")
        if old == new:
            patch, adds, dels = "", 0, 0
        else:
            patch, adds, dels = _patch(old, new)
        blob = spec.blob_sha(path, v if v is not None else prev)
        ref = sha if v is not None else hist.shas[c.parent]
        d = {
            "sha": blob,
            "filename": path,
            "status": status,
            "additions": adds,
            "deletions": dels,
            "changes": adds + dels,
            "blob_url": f"{wb}/{repo.full_name}/blob/{ref}/{path}",
            "raw_url": f"{wb}/{repo.full_name}/raw/{ref}/{path}",
            "contents_url": f"{api}/repos/{repo.full_name}/contents/{path}?ref={ref}",
        }
        if patch is not None:
            d["patch"] = patch
        out.append(d)
    return out


async def get_commit(request: web.Request):
    world: World = request.app[WORLD_KEY]
    api, wb = bases(request)
    doc = "https://docs.github.com/rest/commits/commits#get-a-commit"
    try:
        repo = await _repo(request)
    except NotFound:
        return not_found(doc)
    if repo.empty:
        return jresp(P.error(EMPTY_MSG, doc, 409), 409)
    hist = await _hist(request, repo)
    ref = request.match_info["ref"]
    idx = _resolve(hist, ref, repo.default_branch)
    if idx is None:
        return jresp(P.error(f"No commit found for SHA: {ref}", doc, 422), 422)
    spec = world.content_spec(repo)
    loop = asyncio.get_running_loop()
    files = await loop.run_in_executor(None, _file_entries, repo, hist, spec, idx, api, wb)
    files = files[:3000]  # GitHub lists at most 3000 files of a commit
    body = commit_payload(world, repo, hist, idx, api, wb)
    adds = sum(f["additions"] for f in files)
    dels = sum(f["deletions"] for f in files)
    body["stats"] = {"total": adds + dels, "additions": adds, "deletions": dels}
    page, per_page = page_params(request, default=300, maximum=300)
    body["files"] = files[(page - 1) * per_page : page * per_page]
    return paged(request, len(files), page, per_page, body)


async def branches(request: web.Request):
    api, _ = bases(request)
    try:
        repo = await _repo(request)
    except NotFound:
        return not_found("https://docs.github.com/rest/branches/branches#list-branches")
    if repo.empty:
        return jresp([])
    hist = await _hist(request, repo)
    names = sorted(hist.heads)
    page, per_page = page_params(request)
    chunk = names[(page - 1) * per_page : page * per_page]
    body = [
        {
            "name": n,
            "commit": {
                "sha": hist.shas[hist.heads[n]],
                "url": f"{api}/repos/{repo.full_name}/commits/{hist.shas[hist.heads[n]]}",
            },
            "protected": False,
        }
        for n in chunk
    ]
    return paged(request, len(names), page, per_page, body)


async def languages(request: web.Request):
    world: World = request.app[WORLD_KEY]
    try:
        repo = await _repo(request)
    except NotFound:
        return not_found("https://docs.github.com/rest/repos/repos#list-repository-languages")
    loop = asyncio.get_running_loop()
    return jresp(await loop.run_in_executor(None, world.languages, repo))


def _readme_blob(world: World, repo: Repo, ref: str | None):
    hist = world.ensure_git(repo)
    idx = _resolve(hist, ref, repo.default_branch)
    if idx is None:
        return None, None, None
    tree = hist.tree(idx)
    for name in ("README.md", "README", "readme.md", "README.rst"):
        if name in tree:
            spec = world.content_spec(repo)
            return name, spec.content(name, tree[name]), hist.shas[idx]
    return None, None, None


async def readme(request: web.Request):
    world: World = request.app[WORLD_KEY]
    api, wb = bases(request)
    doc = "https://docs.github.com/rest/repos/contents#get-a-repository-readme"
    try:
        repo = await _repo(request)
    except NotFound:
        return not_found(doc)
    if repo.empty or not repo.has_readme:
        return not_found(doc)
    loop = asyncio.get_running_loop()
    name, data, _ = await loop.run_in_executor(
        None, _readme_blob, world, repo, request.query.get("ref")
    )
    if data is None:
        return not_found(doc)
    accept = request.headers.get("Accept", "")
    if "vnd.github.raw" in accept or "vnd.github.v3.raw" in accept:
        return web.Response(body=data, content_type="text/plain", charset="utf-8")
    from .util import git_blob_sha

    sha = git_blob_sha(data)
    branch = request.query.get("ref") or repo.default_branch
    url = f"{api}/repos/{repo.full_name}/contents/{name}?ref={branch}"
    git_url = f"{api}/repos/{repo.full_name}/git/blobs/{sha}"
    html_url = f"{wb}/{repo.full_name}/blob/{branch}/{name}"
    b64 = base64.b64encode(data).decode()
    content = "\n".join(b64[i : i + 60] for i in range(0, len(b64), 60)) + "\n"
    return jresp(
        {
            "type": "file",
            "encoding": "base64",
            "size": len(data),
            "name": name,
            "path": name,
            "content": content,
            "sha": sha,
            "url": url,
            "git_url": git_url,
            "html_url": html_url,
            "download_url": f"{wb}/_raw/{repo.full_name}/{branch}/{name}",
            "_links": {"self": url, "git": git_url, "html": html_url},
        }
    )


def _contents_lookup(world: World, repo: Repo, path: str, ref: str | None):
    hist = world.ensure_git(repo)
    idx = _resolve(hist, ref, repo.default_branch)
    if idx is None:
        return None
    tree = hist.tree(idx)
    spec = world.content_spec(repo)
    path = path.strip("/")
    if path in tree:
        return ("file", path, spec.content(path, tree[path]))
    prefix = path + "/" if path else ""
    entries: dict[str, tuple[str, str]] = {}
    for p in tree:
        if not p.startswith(prefix):
            continue
        rest = p[len(prefix) :]
        head, sep, _ = rest.partition("/")
        if sep:
            entries.setdefault(head, ("dir", prefix + head))
        else:
            entries[head] = ("file", p)
    if not entries:
        return None
    listing = []
    for name in sorted(entries):
        kind, full = entries[name]
        data = spec.content(full, tree[full]) if kind == "file" else None
        listing.append((kind, name, full, data))
    return ("dir", path, listing)


async def contents(request: web.Request):
    world: World = request.app[WORLD_KEY]
    api, wb = bases(request)
    doc = "https://docs.github.com/rest/repos/contents#get-repository-content"
    try:
        repo = await _repo(request)
    except NotFound:
        return not_found(doc)
    if repo.empty:
        return jresp(P.error("This repository is empty.", doc, 404), 404)
    ref = request.query.get("ref")
    loop = asyncio.get_running_loop()
    got = await loop.run_in_executor(
        None, _contents_lookup, world, repo, request.match_info.get("path", ""), ref
    )
    if got is None:
        return not_found(doc)
    branch = ref or repo.default_branch
    from .util import git_blob_sha

    def entry(kind: str, name: str, path: str, data: bytes | None) -> dict:
        url = f"{api}/repos/{repo.full_name}/contents/{path}?ref={branch}"
        sha = git_blob_sha(data) if data is not None else None
        git_url = (
            f"{api}/repos/{repo.full_name}/git/{'blobs' if data is not None else 'trees'}/{sha}"
        )
        html_url = f"{wb}/{repo.full_name}/{'blob' if data is not None else 'tree'}/{branch}/{path}"
        return {
            "type": kind,
            "size": len(data) if data is not None else 0,
            "name": name,
            "path": path,
            "sha": sha,
            "url": url,
            "git_url": git_url,
            "html_url": html_url,
            "download_url": f"{wb}/_raw/{repo.full_name}/{branch}/{path}"
            if data is not None
            else None,
            "_links": {"self": url, "git": git_url, "html": html_url},
        }

    if got[0] == "file":
        _, path, data = got
        accept = request.headers.get("Accept", "")
        if "vnd.github.raw" in accept or "vnd.github.v3.raw" in accept:
            return web.Response(body=data, content_type="text/plain", charset="utf-8")
        d = entry("file", path.rsplit("/", 1)[-1], path, data)
        b64 = base64.b64encode(data).decode()
        d["content"] = "\n".join(b64[i : i + 60] for i in range(0, len(b64), 60)) + "\n"
        d["encoding"] = "base64"
        return jresp(d)
    return jresp([entry(k, n, p, dt) for k, n, p, dt in got[2]])


# ------------------------------------------------------------------ web/raw
def _ranged(request: web.Request, data: bytes, content_type: str) -> web.Response:
    rng_h = request.headers.get("Range", "")
    m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng_h.strip())
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "max-age=300"}
    if m and (m.group(1) or m.group(2)):
        size = len(data)
        if m.group(1):
            start = int(m.group(1))
            end = int(m.group(2)) if m.group(2) else size - 1
        else:
            start = max(0, size - int(m.group(2)))
            end = size - 1
        end = min(end, size - 1)
        if start >= size or start > end:
            headers["Content-Range"] = f"bytes */{size}"
            return web.Response(status=416, headers=headers)
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        return web.Response(
            body=data[start : end + 1], status=206, headers=headers, content_type=content_type
        )
    return web.Response(body=data, headers=headers, content_type=content_type)


def _ctype(path: str) -> str:
    low = path.lower()
    if low.endswith(".png"):
        return "image/png"
    if low.endswith(".mp4"):
        return "video/mp4"
    if low.endswith(".webm"):
        return "video/webm"
    return "text/plain"


async def image(request: web.Request):
    w, h = int(request.match_info["w"]), int(request.match_info["h"])
    if not (1 <= w <= 8000 and 1 <= h <= 8000):
        return web.Response(status=404, text="Not Found")
    loop = asyncio.get_running_loop()
    data = await loop.run_in_executor(None, png, w, h)
    return _ranged(request, data, "image/png")


async def avatar(request: web.Request):
    return _ranged(request, png(96, 96), "image/png")


def _raw_lookup(world: World, owner: str, name: str, rest: str) -> tuple[bytes, str] | None:
    repo = world.get_repo(owner, name)
    if repo.empty:
        return None
    hist = world.ensure_git(repo)
    if rest.startswith("refs/heads/"):
        rest = rest[len("refs/heads/") :]
    idx, path = None, None
    # longest branch name first (branch names may contain slashes)
    for br in sorted(hist.heads, key=len, reverse=True):
        if rest.startswith(br + "/"):
            idx, path = hist.heads[br], rest[len(br) + 1 :]
            break
    if idx is None:
        ref, _, path = rest.partition("/")
        idx = _resolve(hist, ref, repo.default_branch)
    if idx is None or not path:
        return None
    tree = hist.tree(idx)
    if path not in tree:
        return None
    return world.content_spec(repo).content(path, tree[path]), path


async def raw(request: web.Request):
    world: World = request.app[WORLD_KEY]
    loop = asyncio.get_running_loop()
    try:
        got = await loop.run_in_executor(
            None,
            _raw_lookup,
            world,
            request.match_info["owner"],
            request.match_info["repo"],
            request.match_info["rest"],
        )
    except NotFound:
        got = None
    if got is None:
        return web.Response(status=404, text="404: Not Found")
    data, path = got
    return _ranged(request, data, _ctype(path))


# ------------------------------------------------------------------ git http
async def git_http(request: web.Request):
    world: World = request.app[WORLD_KEY]
    owner, name = request.match_info["owner"], request.match_info["repo"]
    service_path = request.match_info["tail"]
    if name.endswith(".git"):
        name = name[:-4]
    try:
        repo = world.get_repo(owner, name)
    except NotFound:
        return web.Response(status=404, text="Repository not found.")
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, world.ensure_git, repo)
    body = await request.read()
    root = world.git_root()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_PROJECT_ROOT": root,
        "GIT_HTTP_EXPORT_ALL": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "HOME": root,
        "REQUEST_METHOD": request.method,
        "PATH_INFO": f"/{repo.owner.lower()}/{repo.name.lower()}.git/{service_path}",
        "QUERY_STRING": request.query_string,
        "CONTENT_TYPE": request.headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": request.remote or "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "GATEWAY_INTERFACE": "CGI/1.1",
    }
    if request.headers.get("Git-Protocol"):
        env["GIT_PROTOCOL"] = request.headers["Git-Protocol"]
    # aiohttp already inflated a gzip request body, so no HTTP_CONTENT_ENCODING here.
    proc = await asyncio.create_subprocess_exec(
        "git",
        "http-backend",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await proc.communicate(body)
    if service_path == "git-upload-pack":
        state = request.app[STATE_KEY]
        state.git_bytes += len(out)
        state.git_upload_packs[repo.full_name] += 1
    head, sep, payload = out.partition(b"\r\n\r\n")
    if not sep:
        head, sep, payload = out.partition(b"\n\n")
    status = 200
    headers = {}
    for line in head.decode("latin-1").splitlines():
        k, _, v = line.partition(":")
        k, v = k.strip(), v.strip()
        if k.lower() == "status":
            status = int(v.split()[0])
        elif k:
            headers[k] = v
    if proc.returncode and not out:
        return web.Response(status=500, text=err.decode(errors="replace"))
    ctype = headers.pop("Content-Type", "application/octet-stream")
    return web.Response(
        body=payload, status=status, headers=headers, content_type=ctype.split(";")[0]
    )


# ------------------------------------------------------------------ control
async def sim_push_commit(request: web.Request):
    """POST /_sim/repos/{o}/{r}/commits {"login", "paths", "branch"?, "date"?}: a new
    commit by ``login`` (date: ISO, default now), as if pushed; returns its SHA."""
    import time

    from .history import append_commit

    world: World = request.app[WORLD_KEY]
    try:
        repo = await _repo(request)
        body = await request.json()
        login = str(body["login"])
        paths = [str(p) for p in body["paths"]] or ["src/change.txt"]
        branch = str(body.get("branch") or repo.default_branch)
        date = parse_iso(body["date"]) if body.get("date") else int(time.time())
        world.get_user(login)
    except NotFound:
        return jresp({"message": "Not Found"}, 404)
    except (KeyError, TypeError, ValueError) as exc:
        return jresp({"message": f"bad request: {exc}"}, 400)
    if repo.empty or date is None:
        return jresp({"message": "empty repository or bad date"}, 400)
    hist = await _hist(request, repo)
    spec = world.content_spec(repo)
    loop = asyncio.get_running_loop()
    sha = await loop.run_in_executor(
        None,
        lambda: append_commit(
            world, repo, hist, spec, branch=branch, login=login, date=date, paths=paths
        ),
    )
    return jresp({"sha": sha, "branch": branch, "date": iso(date)}, 201)


# ------------------------------------------------------------------ truths
async def truth_readme_images(request: web.Request):
    world: World = request.app[WORLD_KEY]
    try:
        repo = await _repo(request)
    except NotFound:
        return jresp({"message": "Not Found"}, 404)
    web_url = request.query.get("web_url") or f"{request.scheme}://{request.host}"
    return jresp(
        {
            "full_name": repo.full_name,
            "default_branch": repo.default_branch,
            "has_readme": repo.has_readme and not repo.empty,
            "images": readme_images_truth(world, repo, web_url),
        }
    )


def register(app: web.Application) -> None:
    r = app.router
    r.add_get(API + "/repos/{owner}/{repo}/commits", list_commits, name="commits")
    r.add_get(API + "/repos/{owner}/{repo}/commits/{ref:.+}", get_commit, name="commit")
    r.add_get(API + "/repos/{owner}/{repo}/branches", branches, name="branches")
    r.add_get(API + "/repos/{owner}/{repo}/languages", languages, name="languages")
    r.add_get(API + "/repos/{owner}/{repo}/readme", readme, name="readme")
    r.add_get(API + "/repos/{owner}/{repo}/contents", contents, name="contents")
    r.add_get(API + "/repos/{owner}/{repo}/contents/{path:.*}", contents, name="contents_path")
    r.add_get("/_img/{w:\\d+}x{h:\\d+}.png", image, name="image")
    r.add_get("/_avatars/u/{id}", avatar, name="avatar")
    r.add_get("/_raw/{owner}/{repo}/{rest:.+}", raw, name="raw_content")
    r.add_get("/{owner}/{repo}/raw/{rest:.+}", raw, name="raw")
    r.add_get("/_sim/truth/repos/{owner}/{repo}/readme-images", truth_readme_images)
    r.add_post("/_sim/repos/{owner}/{repo}/commits", sim_push_commit)
    r.add_route(
        "*",
        "/{owner}/{repo}/{tail:info/refs|git-upload-pack|HEAD|objects/.+}",
        git_http,
        name="git",
    )
