"""Commit histories: a deterministic plan per repository, materialised as a real
git repository with ``git fast-import`` so that clones and the API agree.

A plan is cheap (paths and versions only); file contents are generated on
demand from ``(repo, path, version)``.
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass, field

from .images import png
from .util import DAY, day_of, git_blob_sha, h64, rng

EXT = {
    "Python": "py",
    "TypeScript": "ts",
    "Go": "go",
    "Rust": "rs",
    "JavaScript": "js",
    "Java": "java",
    "Ruby": "rb",
    "C": "c",
    "Shell": "sh",
}
# Linguist names for the extensions this world writes (programming languages only:
# Markdown, YAML, JSON and TOML are prose/data and never appear in /languages).
LINGUIST = {
    "py": "Python",
    "ts": "TypeScript",
    "go": "Go",
    "rs": "Rust",
    "js": "JavaScript",
    "java": "Java",
    "rb": "Ruby",
    "c": "C",
    "h": "C",
    "sh": "Shell",
}
LOCKFILES = {
    "Python": "poetry.lock",
    "TypeScript": "package-lock.json",
    "JavaScript": "yarn.lock",
    "Go": "go.sum",
    "Rust": "Cargo.lock",
    "Ruby": "Gemfile.lock",
    "Java": "gradle.lockfile",
}
VENDORED_DIRS = ("vendor/", "node_modules/", "dist/", "third_party/")
DOC_DIRS = ("docs/", "examples/")
# Linguist's path rule for generated code (Relay's output directory).
GENERATED_DIRS = ("__generated__/",)
# Extensions Linguist finds ambiguous among these (.h: C, C++, Objective-C; .rs:
# Rust, RenderScript, XML; .ts: TypeScript, XML): only these are resolved with the
# repository's /languages, as Gazer's activity does.
AMBIGUOUS_EXTS = frozenset({"h", "rs", "ts"})
COMMENT = {"py": "#", "rb": "#", "sh": "#"}
MESSAGES = [
    "Add {x}",
    "Fix edge case in {x}",
    "Refactor {x}",
    "Update {x}",
    "Improve error handling in {x}",
    "Tidy up {x}",
    "Speed up {x}",
    "Document {x}",
]
SRC_NAMES = [
    "main",
    "core",
    "utils",
    "config",
    "server",
    "client",
    "parser",
    "models",
    "cli",
    "cache",
]


def language_of(path: str) -> str | None:
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return LINGUIST.get(ext)


def is_vendored(path: str) -> bool:
    p = path.lower()
    return any(p.startswith(d) or f"/{d}" in p for d in VENDORED_DIRS)


def is_documentation(path: str) -> bool:
    p = path.lower()
    return p.startswith(DOC_DIRS) or p.endswith((".md", ".markdown", ".rst", ".txt"))


def is_generated(path: str) -> bool:
    p = path.lower()
    return any(p.startswith(d) or f"/{d}" in p for d in GENERATED_DIRS)


def is_ambiguous(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return "." in name and name.rsplit(".", 1)[-1].lower() in AMBIGUOUS_EXTS


def extra_paths(repo, k: int, idx: int) -> dict[str, int]:
    """Files an owner commit also touches, without drawing from the plan's random
    stream (so older histories keep their shape): code under docs/ (documentation),
    a generated file, and a C header (an ambiguous extension)."""
    primary = repo.language or ""
    ext = EXT.get(primary)
    if not ext or k == 0:
        return {}
    out: dict[str, int] = {}
    if k % 7 == 3:
        out[f"docs/examples/demo.{ext}"] = idx
    if k % 11 == 5:
        out[f"src/__generated__/schema.{ext}"] = idx
    if primary == "C" and k % 5 == 2:
        out["include/core.h"] = idx
    return out


@dataclass
class Commit:
    idx: int
    parent: int | None
    branch: str
    login: str | None
    name: str
    email: str
    date: int
    message: str
    changes: dict[str, int | None]  # path -> content version (None: removed)


@dataclass
class History:
    repo_key: str
    commits: list[Commit] = field(default_factory=list)
    heads: dict[str, int] = field(default_factory=dict)
    default_branch: str = "main"
    shas: list[str] | None = None
    trees: list[str] | None = None
    sha_index: dict[str, int] | None = None
    _tree_cache: dict[int, dict[str, int]] = field(default_factory=dict)

    def ancestors(self, idx: int | None):
        while idx is not None:
            c = self.commits[idx]
            yield c
            idx = c.parent

    def tree(self, idx: int) -> dict[str, int]:
        """Full tree at a commit: path -> content version."""
        t = self._tree_cache.get(idx)
        if t is not None:
            return t
        chain = list(self.ancestors(idx))
        tree: dict[str, int] = {}
        for c in reversed(chain):
            for p, v in c.changes.items():
                if v is None:
                    tree.pop(p, None)
                else:
                    tree[p] = v
        if len(self._tree_cache) > 64:
            self._tree_cache.clear()
        self._tree_cache[idx] = tree
        return tree

    def previous_version(self, idx: int, path: str) -> int | None:
        c = self.commits[idx]
        for a in self.ancestors(c.parent):
            if path in a.changes:
                return a.changes[path]
        return None


# ---------------------------------------------------------------- content
class ContentSpec:
    """Generates file bytes for a repository."""

    def __init__(self, world, repo, readme: bytes | None, images: dict[str, tuple[int, int]]):
        self.world = world
        self.repo = repo
        self.readme = readme
        self.images = images

    def content(self, path: str, version: int) -> bytes:
        if path == "README.md" and self.readme is not None:
            return self.readme
        low = path.lower()
        if low.endswith((".mp4", ".webm")):
            return b"\x00\x00\x00\x18ftypmp42" + bytes(64)
        if path in self.images:
            w, h = self.images[path]
            return png(w, h)
        if low.endswith(".png"):
            return png(64, 64)
        ext = low.rsplit(".", 1)[-1] if "." in low.rsplit("/", 1)[-1] else ""
        base = rng(self.world.seed, "content", self.repo.full_name, path)
        lang = LINGUIST.get(ext)
        n = 12 + base.randint(0, 40)
        if lang and lang == self.repo.language:
            n *= 3
        cm = COMMENT.get(ext, "//")
        if lang is None:
            cm = "#"
        lines = [f"{cm} {path}"]
        stem = path.rsplit("/", 1)[-1].split(".")[0].replace("-", "_")
        for k in range(n):
            if lang == "Python":
                lines.append(f"def {stem}_{k}(value):\n    return value * {k}")
            elif lang in ("Go",):
                lines.append(f"func {stem.capitalize()}{k}(v int) int {{ return v * {k} }}")
            elif lang == "Rust":
                lines.append(f"pub fn {stem}_{k}(v: i64) -> i64 {{ v * {k} }}")
            elif lang in ("TypeScript", "JavaScript"):
                lines.append(f"export function {stem}{k}(v) {{ return v * {k}; }}")
            elif lang:
                lines.append(f"{cm} {stem} step {k}")
            elif ext in ("md",):
                lines.append(f"Paragraph {k} about {stem}.")
            else:
                lines.append(f"{stem}_{k}: {k}")
        if version:
            r = rng(self.world.seed, "edit", self.repo.full_name, path, version)
            for _ in range(r.randint(1, 3)):
                j = r.randint(1, len(lines) - 1)
                lines[j] = f"{cm} revised in change {version}: {stem} {r.randint(0, 999)}"
            for _ in range(r.randint(0, 3)):
                lines.append(f"{cm} added in change {version}")
        return ("\n".join(lines) + "\n").encode()

    def blob_sha(self, path: str, version: int) -> str:
        return git_blob_sha(self.content(path, version))


# ------------------------------------------------------------------ plans
def _identity(
    world, login: str | None, fallback: str, when: int | None = None
) -> tuple[str | None, str, str]:
    """Who a commit is by. A user commits with the account's noreply address, and (about
    one commit in three of the main histories, by `when`) with a personal address that
    GitHub attributes to the account as well."""
    if login is None:
        nm = fallback
        return None, nm.title().replace("-", " "), f"{nm}@example.com"
    u = world.get_user(login)
    if when is not None and h64(world.seed, "mail", u.login, when) % 3 == 0:
        return u.login, u.name or u.login, f"{u.login.lower()}@mail.example"
    return u.login, u.name or u.login, f"{u.id}+{u.login}@users.noreply.github.com"


def pick_days(
    r, lo: int, hi: int, n: int, gap: tuple[int, int], avoid: set[str] | None = None
) -> list[int]:
    """n distinct day starts (epoch) in [lo, hi], outside the gap."""
    avoid = avoid or set()
    lo_d = lo // DAY
    hi_d = hi // DAY
    cands = [d for d in range(lo_d, hi_d + 1) if not (gap[0] // DAY <= d <= gap[1] // DAY)]
    cands = [d for d in cands if day_of(d * DAY) not in avoid]
    if not cands:
        return []
    n = min(n, len(cands))
    return sorted(d * DAY for d in r.sample(cands, n))


def build_plan(world, repo) -> tuple[History, ContentSpec]:
    from .readme import readme_for

    readme, images = readme_for(world, repo)
    spec = ContentSpec(world, repo, readme, images)
    hist = History(repo_key=repo.full_name, default_branch=repo.default_branch)
    if repo.empty:
        return hist, spec
    r = rng(world.seed, "plan", repo.full_name)
    if repo.fork and repo.parent:
        parent = world.get_repo_by_full_name(repo.parent)
        if parent is not None and not parent.empty:
            phist = world.history(parent)
            head = phist.heads.get(parent.default_branch)
            base = [c for c in phist.ancestors(head) if c.date < repo.created_at]
            base.reverse()
            mapping = {}
            for c in base:
                nc = Commit(
                    idx=len(hist.commits),
                    parent=mapping.get(c.parent),
                    branch=repo.default_branch,
                    login=c.login,
                    name=c.name,
                    email=c.email,
                    date=c.date,
                    message=c.message,
                    changes=dict(c.changes),
                )
                mapping[c.idx] = nc.idx
                hist.commits.append(nc)
            spec = ContentSpec(world, parent, *readme_for(world, parent))
            have = {day_of(c.date) for c in hist.commits if c.login == repo.owner}
            need = max(0, repo.owner_days - len(have))
            days = pick_days(r, repo.created_at + DAY, repo.pushed_at, need, world.gap, have)
            tip = hist.commits[-1].idx if hist.commits else None
            tree = hist.tree(tip) if tip is not None else {}
            files = sorted(p for p in tree if language_of(p) and not is_vendored(p))
            login, name, email = _identity(world, repo.owner, repo.owner)
            for k, d in enumerate(days):
                t = d + 9 * 3600 + r.randint(0, 8 * 3600)
                t = min(t, repo.pushed_at)
                path = r.choice(files) if files else f"src/patch_{k}.txt"
                c = Commit(
                    idx=len(hist.commits),
                    parent=tip,
                    branch=repo.default_branch,
                    login=login,
                    name=name,
                    email=email,
                    date=t,
                    message=r.choice(MESSAGES).format(x=path.rsplit("/", 1)[-1]),
                    changes={path: len(hist.commits) + 1},
                )
                hist.commits.append(c)
                tip = c.idx
            if tip is not None:
                hist.heads[repo.default_branch] = tip
            return hist, spec

    # ---- authorship events: (time, login or None, fallback name)
    events: list[tuple[int, str | None, str]] = []
    owner = repo.owner
    lo, hi = repo.created_at, repo.pushed_at
    old_days = []
    if repo.owner_old_days and lo < world.gap[0]:
        old_days = pick_days(r, lo + DAY, world.gap[0] - DAY, repo.owner_old_days, world.gap)
    first_day = lo // DAY * DAY
    last_day = hi // DAY * DAY
    avoid = {day_of(d) for d in old_days} | {day_of(first_day), day_of(last_day)}
    rec_lo = lo + DAY if not old_days else max(lo + DAY, world.gap[1] + DAY)
    n_main = max(0, repo.owner_days - 2 - len(old_days))
    if repo.owner_days <= 1:
        n_main = 0
    owner_days = old_days + pick_days(r, rec_lo, hi - DAY, n_main, world.gap, avoid)
    events.append((lo, owner, owner))
    for d in owner_days:
        for _ in range(1 + (r.random() < 0.35) + (r.random() < 0.1)):
            events.append((d + 8 * 3600 + r.randint(0, 12 * 3600), owner, owner))
    if repo.owner_days >= 2 and last_day != first_day:
        events.append((hi, owner, owner))
    owner_set = {day_of(lo), day_of(hi), *(day_of(d) for d in owner_days)}
    for login, n in sorted(repo.contributors.items()):
        cl = max(lo + DAY, world.gap[1] + DAY)
        for d in pick_days(
            rng(world.seed, "contrib", repo.full_name, login), cl, hi - DAY, n, world.gap
        ):
            events.append((d + 10 * 3600 + r.randint(0, 6 * 3600), login, login))
    for k in range(repo.other_authors):
        slot = world._synthetic_slot("coauthor", repo.full_name, k)
        login = world.pool_login(slot) if k % 2 == 0 else None
        for d in pick_days(r, lo + DAY, hi - DAY, r.randint(1, 4), world.gap):
            events.append(
                (d + 7 * 3600 + r.randint(0, 3600), login, f"contrib{k}-{repo.id % 1000}")
            )
    events.sort(key=lambda e: (e[0], e[1] or "", e[2]))
    # keep strictly increasing timestamps
    fixed = []
    last = -1
    for t, lg, fb in events:
        t = max(t, last + 1)
        fixed.append((t, lg, fb))
        last = t
    events = fixed

    # ---- files
    langs = repo.langs or []
    primary = repo.language
    src_dir = {"Go": "cmd", "Rust": "src", "Python": "src", "Java": "src/main/java"}.get(
        primary or "", "src"
    )
    files: list[str] = []
    for i, lang in enumerate(langs):
        ext = EXT.get(lang, "txt")
        k = 4 if lang == primary else 2
        for j in range(k):
            nm = SRC_NAMES[(i * 3 + j) % len(SRC_NAMES)]
            d = (
                src_dir
                if lang == primary
                else ("scripts" if lang == "Shell" else f"lib/{lang.lower()}")
            )
            files.append(f"{d}/{nm}.{ext}")
    docs = ["docs/guide.md", "docs/architecture.md", "CONTRIBUTING.md"]
    config = [".github/workflows/ci.yml", "config.yaml"]
    lock = [LOCKFILES[primary]] if primary in LOCKFILES else []
    vendored = []
    if primary in ("Go",):
        vendored = ["vendor/github.com/acme/util/util.go"]
    elif primary in ("JavaScript", "TypeScript"):
        vendored = ["node_modules/left-pad/index.js", "dist/bundle.js"]
    elif primary == "Python":
        vendored = ["vendor/six.py", "dist/app.min.js"]
    elif primary:
        vendored = ["third_party/helper." + EXT.get(primary, "txt")]
    assets = ["assets/logo.png"]
    initial = {}
    if readme is not None:
        initial["README.md"] = 0
    for p in images:
        initial[p] = 0
    for p in files[:3] + config[:1] + lock + docs[:1]:
        initial[p] = 0
    if not langs:
        initial.update({"docs/notes.md": 0, "docs/ideas.md": 0, "config.yaml": 0})
    pool = files + docs + config + lock + vendored + assets
    if not langs:
        pool = ["docs/notes.md", "docs/ideas.md", "docs/links.md", "config.yaml", "assets/logo.png"]

    commits = hist.commits
    big_at = len(events) // 2 if repo.big_commit else -1
    tip = None
    present = dict(initial)
    for k, (t, lg, fb) in enumerate(events):
        login, name, email = _identity(world, lg, fb, when=t)
        idx = len(commits)
        if k == 0:
            changes = dict(initial)
            msg = "Initial commit"
        elif k == big_at:
            changes = {
                f"vendor/lib{j // 40}/mod_{j:03d}.{EXT.get(primary or '', 'txt')}": idx
                for j in range(320)
            }
            changes["vendor/modules.txt"] = idx
            msg = "Vendor dependencies"
        else:
            changes = {}
            n = 1 + (r.random() < 0.4) + (r.random() < 0.15)
            for _ in range(n):
                if lg == owner or r.random() < 0.7:
                    cands = [p for p in pool if language_of(p) and not is_vendored(p)] or pool
                else:
                    cands = pool
                p = r.choice(cands if r.random() < 0.8 else pool)
                changes[p] = idx
            if r.random() < 0.04 and len(present) > 6:
                victim = r.choice(
                    sorted(p for p in present if p not in initial and p not in changes) or [""]
                )
                if victim:
                    changes[victim] = None
            first = next(iter(changes))
            msg = r.choice(MESSAGES).format(x=first.rsplit("/", 1)[-1])
            if lg == owner:
                for p, v in extra_paths(repo, k, idx).items():
                    changes.setdefault(p, v)
        for p, v in changes.items():
            if v is None:
                present.pop(p, None)
            else:
                present[p] = v
        commits.append(
            Commit(
                idx=idx,
                parent=tip,
                branch=repo.default_branch,
                login=login,
                name=name,
                email=email,
                date=t,
                message=msg,
                changes=changes,
            )
        )
        tip = idx
    hist.heads[repo.default_branch] = tip

    # ---- extra branches, on days the owner already has
    names = ["feature/dark-mode", "dev", "experiment/async", "release/1.x", "fix/parser"]
    owner_commits = [c for c in commits if c.login == owner]
    for b in range(repo.extra_branches):
        if len(commits) < 4:
            break
        br = names[b % len(names)]
        base_idx = commits[len(commits) // 2 + b].idx if len(commits) > 4 else commits[-1].idx
        base_t = commits[base_idx].date
        later = sorted({c.date // DAY * DAY for c in owner_commits if c.date > base_t + DAY})
        btip = base_idx
        for j, d in enumerate(later[: 2 + b]):
            idx = len(commits)
            login, name, email = _identity(world, owner, owner)
            p = r.choice([p for p in pool if language_of(p)] or pool)
            commits.append(
                Commit(
                    idx=idx,
                    parent=btip,
                    branch=br,
                    login=login,
                    name=name,
                    email=email,
                    date=min(d + 22 * 3600 + j * 60 + b, repo.pushed_at - 1),
                    message=f"WIP on {br}: {p.rsplit('/', 1)[-1]}",
                    changes={p: idx},
                )
            )
            btip = idx
        if btip != base_idx:
            hist.heads[br] = btip
    _ = owner_set
    return hist, spec


# -------------------------------------------------------------------- git
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(key: str) -> threading.Lock:
    with _locks_guard:
        lk = _locks.get(key)
        if lk is None:
            lk = _locks[key] = threading.Lock()
        return lk


def _git(args: list[str], cwd: str | None = None, input: bytes | None = None) -> bytes:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": cwd or "/tmp",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "LC_ALL": "C",
    }
    res = subprocess.run(
        ["git", *args], cwd=cwd, input=input, capture_output=True, env=env, check=False
    )
    if res.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {res.stderr.decode(errors='replace')}")
    return res.stdout


def repo_dir(world, repo) -> str:
    return os.path.join(world.git_root(), repo.owner.lower(), repo.name.lower() + ".git")


def ensure_git(world, repo, hist: History, spec: ContentSpec) -> str:
    """Build the bare repository once; fill ``hist.shas`` and ``hist.trees``."""
    path = repo_dir(world, repo)
    if hist.shas is not None and os.path.isdir(path):
        return path
    with _lock_for(path):
        if hist.shas is not None and os.path.isdir(path):
            return path
        marks = path + ".marks"
        if not (os.path.isdir(path) and os.path.exists(marks)):
            tmp = path + ".tmp"
            if os.path.isdir(tmp):
                import shutil

                shutil.rmtree(tmp)
            os.makedirs(tmp, exist_ok=True)
            _git(["init", "--bare", "-q", f"--initial-branch={hist.default_branch}", tmp])
            for k, v in (
                ("uploadpack.allowFilter", "true"),
                ("uploadpack.allowAnySHA1InWant", "true"),
                ("uploadpack.allowReachableSHA1InWant", "true"),
                ("http.receivepack", "false"),
                ("core.logAllRefUpdates", "false"),
            ):
                _git(["config", k, v], cwd=tmp)
            if hist.commits:
                stream = fast_import_stream(hist, spec)
                _git(
                    ["fast-import", "--quiet", f"--export-marks={tmp}.marks"], cwd=tmp, input=stream
                )
                os.replace(tmp + ".marks", tmp + "/ghsim.marks")
            else:
                open(tmp + "/ghsim.marks", "w").close()
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.replace(tmp, path)
            os.replace(path + "/ghsim.marks", marks)
        shas = [""] * len(hist.commits)
        with open(marks) as fh:
            for line in fh:
                m, sha = line.split()
                shas[int(m[1:]) - 1] = sha
        trees = [""] * len(hist.commits)
        if hist.commits:
            out = _git(["log", "--all", "--format=%H %T"], cwd=path).decode().split("\n")
            tree_of = dict(line.split() for line in out if line.strip())
            trees = [tree_of.get(s, "") for s in shas]
        hist.trees = trees
        hist.sha_index = {s: i for i, s in enumerate(shas)}
        hist.shas = shas
    return path


def fast_import_stream(hist: History, spec: ContentSpec) -> bytes:
    out = bytearray()
    for c in hist.commits:
        msg = (c.message + "\n").encode()
        who = f"{c.name} <{c.email}> {c.date} +0000".encode()
        out += b"commit refs/heads/" + c.branch.encode() + b"\n"
        out += b"mark :%d\n" % (c.idx + 1)
        out += b"author " + who + b"\ncommitter " + who + b"\n"
        out += b"data %d\n" % len(msg) + msg
        if c.parent is not None:
            out += b"from :%d\n" % (c.parent + 1)
        elif c.idx > 0:
            out += b"from 0000000000000000000000000000000000000000\n"
        for p, v in c.changes.items():
            if v is None:
                out += b"D " + p.encode() + b"\n"
            else:
                data = spec.content(p, v)
                out += b"M 100644 inline " + p.encode() + b"\n"
                out += b"data %d\n" % len(data) + data + b"\n"
        out += b"\n"
    for br, idx in sorted(hist.heads.items()):
        out += b"reset refs/heads/" + br.encode() + b"\nfrom :%d\n\n" % (idx + 1)
    return bytes(out)


def append_commit(
    world,
    repo,
    hist: History,
    spec: ContentSpec,
    *,
    branch: str,
    login: str,
    date: int,
    paths: list[str],
) -> str:
    """Add one commit by ``login`` on ``branch`` (created from the default branch's head
    when new), in the plan and in the bare repository; returns its SHA."""
    path = ensure_git(world, repo, hist, spec)
    with _lock_for(path):
        parent = hist.heads.get(branch, hist.heads.get(hist.default_branch))
        idx = len(hist.commits)
        who_login, name, email = _identity(world, login, login)
        c = Commit(
            idx=idx,
            parent=parent,
            branch=branch,
            login=who_login,
            name=name,
            email=email,
            date=int(date),
            message=f"Change {', '.join(p.rsplit('/', 1)[-1] for p in paths)}",
            changes={p: idx for p in paths},
        )
        sub = History(repo_key=hist.repo_key, commits=[c], default_branch=hist.default_branch)
        # marks and parents are the commit's own: the stream continues the repository
        stream = fast_import_stream(sub, spec)
        marks = path + ".marks"
        _git(
            ["fast-import", "--quiet", f"--import-marks={marks}", f"--export-marks={marks}"],
            cwd=path,
            input=stream,
        )
        sha = ""
        with open(marks) as fh:
            for line in fh:
                m, value = line.split()
                if int(m[1:]) == idx + 1:
                    sha = value
        tree = _git(["log", "-1", "--format=%T", sha], cwd=path).decode().strip()
        hist.commits.append(c)
        hist.heads[branch] = idx
        assert hist.shas is not None and hist.trees is not None and hist.sha_index is not None
        hist.shas.append(sha)
        hist.trees.append(tree)
        hist.sha_index[sha] = idx
        hist._tree_cache.clear()
        repo.pushed_at = max(repo.pushed_at, int(date))
        repo.updated_at = max(repo.updated_at, int(date))
        return sha
