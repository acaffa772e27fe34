"""Git helpers: bounded, self-cleaning clones of GitHub repositories.

    with clone_repo("owner/repo", depth=50, blobless=True) as path:
        shas = git_log(path, since=...)
        git_fetch_shas(path, ["abc...", ...])
        files = git_changed_files(path, "abc...")

The clone URL is `<GITHUB_WEB_URL>/<owner>/<repo>.git`. A token travels as an
`http.extraHeader` passed through `GIT_CONFIG_*` environment variables: never in the
URL, the command line, the repository's config or the logs.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

from django.conf import settings

from workers.github import errors

logger = logging.getLogger(__name__)

FETCH_TIMEOUT_SECONDS = 120
COMMAND_TIMEOUT_SECONDS = 60
MIN_FREE_BYTES = 1024 * 1024 * 1024
STALE_AFTER_SECONDS = 3 * 3600  # a clone dir this old belongs to a dead process
FETCH_CHUNK = 50
_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_BRANCH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]{0,250}$")
T = TypeVar("T")


class GitError(Exception):
    """A git command failed, timed out, or a clone outgrew its cap."""


class GitTransient(GitError, errors.Transient):
    """GitHub answered git with a 5xx or the connection broke, past the command's own
    retries: the step waits on its row like any transient GitHub error."""


# What git's HTTP transport prints when the server, not the request, was at fault.
_TRANSIENT = re.compile(
    r"returned error: 5\d\d|Empty reply from server|Connection reset|Connection refused"
    r"|Failed to connect|Couldn't connect|Recv failure|RPC failed|early EOF"
    r"|remote end hung up unexpectedly|transfer closed|Operation timed out",
    re.IGNORECASE,
)


def _failure(args: Sequence[str], returncode: int, stderr: str) -> GitError:
    kind = GitTransient if _TRANSIENT.search(stderr) else GitError
    return kind(f"git {args[0]} failed ({returncode}): {stderr}")


def _retried(call: Callable[[], T], *, what: str, between: Callable[[], None] | None = None) -> T:
    """Run a network git command, asking again what failed for a passing reason.

    The same rule as the API's in-call retries: at most GITHUB_RETRIES more attempts,
    after about GITHUB_RETRY_BACKOFF_SECONDS × 3^n seconds, jittered. `between` undoes a
    failed attempt's leftovers (a half-written clone) before the next.
    """
    retries = 0
    while True:
        try:
            return call()
        except GitTransient as exc:
            if retries >= settings.GITHUB_RETRIES:
                raise
            wait = settings.GITHUB_RETRY_BACKOFF_SECONDS * 3**retries
            wait *= random.uniform(0.75, 1.25)  # noqa: S311 - jitter
            retries += 1
            logger.warning(
                "git.retry what=%s retry=%d wait=%.2f error=%s", what, retries, wait, exc
            )
        if between is not None:
            between()
        time.sleep(wait)


def work_root() -> Path:
    root = Path(settings.GAZER_GIT_DIR or Path(tempfile.gettempdir()) / "gazer-git")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _sweep_stale(root: Path) -> None:
    cutoff = time.time() - STALE_AFTER_SECONDS
    for child in root.iterdir():
        with contextlib.suppress(OSError):
            if child.is_dir() and child.stat().st_mtime < cutoff:
                shutil.rmtree(child, ignore_errors=True)


def _env(token: str | None) -> dict[str, str]:
    # No inherited GIT_TRACE*/GIT_CURL_VERBOSE: they would print the auth header.
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_TRACE", "GIT_CURL_VERBOSE", "GIT_CONFIG_"))
    }
    env = {
        **inherited,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "true",
        "GIT_LFS_SKIP_SMUDGE": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "LC_ALL": "C",
    }
    if not token and settings.GITHUB_TOKENS:
        token = settings.GITHUB_TOKENS[0]
    if token:
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update(
            {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
            }
        )
    return env


def _run(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    token: str | None = None,
    timeout: float = COMMAND_TIMEOUT_SECONDS,
) -> str:
    cmd = ["git", *args]
    started = time.monotonic()
    try:
        done = subprocess.run(
            cmd,
            cwd=cwd,
            env=_env(token),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} timed out after {timeout:.0f}s") from None
    logger.debug(
        "git.run cmd=%s rc=%s ms=%d",
        " ".join(args[:3]),
        done.returncode,
        (time.monotonic() - started) * 1000,
    )
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", errors="replace").strip()[-500:]
        raise _failure(args, done.returncode, err)
    return done.stdout.decode("utf-8", errors="replace")


def _run_watched(
    args: Sequence[str], *, dest: Path, token: str | None, timeout: float, max_bytes: int
) -> None:
    """Run a clone, killing it as soon as `dest` outgrows `max_bytes` or time runs out."""
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            ["git", *args],
            env=_env(token),
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        try:
            while True:
                try:
                    returncode = proc.wait(timeout=0.5)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if time.monotonic() > deadline:
                    raise GitError(f"git {args[0]} timed out after {timeout:.0f}s")
                if _size(dest) > max_bytes:
                    raise GitError(f"git {args[0]} stopped: above the {max_bytes} byte cap")
        finally:
            if proc.poll() is None:
                # git runs helpers (remote-http, index-pack): stop its whole group.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if returncode != 0:
            err.seek(0)
            message = err.read().decode("utf-8", errors="replace").strip()[-500:]
            raise _failure(args, returncode, message)


def _size(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def clone_url(full_name: str) -> str:
    if not _NAME.match(full_name):
        raise GitError(f"not a repository name: {full_name!r}")
    return f"{settings.GITHUB_WEB_URL.rstrip('/')}/{full_name}.git"


@contextlib.contextmanager
def clone_repo(
    full_name: str,
    *,
    depth: int | None = 1,
    shallow_since: date | datetime | None = None,
    blobless: bool = False,
    branch: str | None = None,
    no_checkout: bool = False,
    token: str | None = None,
    timeout: float | None = None,
    max_bytes: int | None = None,
) -> Iterator[Path]:
    """Clone into a fresh temporary directory, removed on exit (also on errors). The
    limits default to GIT_CLONE_TIMEOUT_SECONDS and GIT_CLONE_MAX_MB."""
    if timeout is None:
        timeout = settings.GIT_CLONE_TIMEOUT_SECONDS
    if max_bytes is None:
        max_bytes = settings.GIT_CLONE_MAX_MB * 1024 * 1024
    root = work_root()
    _sweep_stale(root)
    if shutil.disk_usage(root).free < MIN_FREE_BYTES:
        raise GitError("not enough free disk space for a clone")
    tmp = Path(tempfile.mkdtemp(prefix="clone-", dir=root))
    dest = tmp / "repo"
    args = ["clone", "--quiet", "--single-branch", "--no-tags"]
    if blobless:
        args.append("--filter=blob:none")
    if shallow_since is not None:
        args.append(f"--shallow-since={shallow_since.isoformat()}")
    elif depth:
        args.append(f"--depth={int(depth)}")
    if branch:
        args += ["--branch", branch]
    if no_checkout:
        args.append("--no-checkout")
    args += ["--", clone_url(full_name), str(dest)]
    try:
        started = time.monotonic()
        _retried(
            lambda: _run_watched(args, dest=tmp, token=token, timeout=timeout, max_bytes=max_bytes),
            what=f"clone {full_name}",
            between=lambda: shutil.rmtree(dest, ignore_errors=True),
        )
        size = _size(dest)
        if size > max_bytes:
            raise GitError(f"clone of {full_name} is {size} bytes, above the {max_bytes} cap")
        logger.info(
            "git.cloned repo=%s bytes=%d ms=%d",
            full_name,
            size,
            (time.monotonic() - started) * 1000,
        )
        yield dest
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def git_ls_remote(
    full_name: str, *, token: str | None = None, timeout: float = COMMAND_TIMEOUT_SECONDS
) -> tuple[str, dict[str, str]]:
    """(default branch, {branch: head sha}) over git, outside the API budget; ("", {})
    for an empty repository."""
    args = ["ls-remote", "--symref", "--", clone_url(full_name), "HEAD", "refs/heads/*"]
    out = _retried(lambda: _run(args, token=token, timeout=timeout), what=f"ls-remote {full_name}")
    default, heads = "", {}
    for line in out.splitlines():
        left, _, ref = line.partition("\t")
        if left.startswith("ref: refs/heads/") and ref == "HEAD":
            default = left[len("ref: refs/heads/") :]
        elif ref.startswith("refs/heads/"):
            heads[ref[len("refs/heads/") :]] = left
    return default, heads


def git_fetch_shas(
    path: Path,
    shas: Sequence[str],
    *,
    depth: int = 2,
    chunk: int = FETCH_CHUNK,
    token: str | None = None,
    timeout: float = FETCH_TIMEOUT_SECONDS,
) -> None:
    """Fetch the given commits, `chunk` SHAs per `git fetch`.

    Depth 2 by default: at depth 1 each commit would look like a root commit and
    `git_changed_files` would list its whole tree instead of what it changed.
    """
    wanted = [s for s in dict.fromkeys(shas) if _SHA.match(s)]
    for start in range(0, len(wanted), chunk):
        batch = wanted[start : start + chunk]
        args = ["fetch", "--quiet", "--no-tags", f"--depth={int(depth)}", "origin", *batch]
        _retried(
            lambda args=args: _run(args, cwd=path, token=token, timeout=timeout),
            what=f"fetch {len(batch)} commits",
        )


def git_fetch_branches(
    path: Path,
    branches: Sequence[str],
    *,
    shallow_since: date | datetime,
    token: str | None = None,
    timeout: float = FETCH_TIMEOUT_SECONDS,
) -> list[str]:
    """Fetch other branches into `refs/remotes/origin/<name>`, shallow since a date (a
    blobless clone's filter applies). Returns the branches fetched: one with no commit
    since the date cannot be fetched shallow and is left out."""
    names = [b for b in dict.fromkeys(branches) if _BRANCH.match(b) and ".." not in b]
    if not names:
        return []
    args = ["fetch", "--quiet", "--no-tags", f"--shallow-since={shallow_since.isoformat()}"]

    def fetch(batch: Sequence[str]) -> None:
        specs = [f"+refs/heads/{b}:refs/remotes/origin/{b}" for b in batch]
        command = [*args, "origin", *specs]
        _retried(
            lambda: _run(command, cwd=path, token=token, timeout=timeout),
            what=f"fetch {len(batch)} branches",
        )

    try:
        fetch(names)
        return names
    except GitTransient:
        raise
    except GitError:
        if len(names) == 1:
            return []
    fetched = []
    for name in names:
        try:
            fetch([name])
        except GitTransient:
            raise
        except GitError:
            continue
        fetched.append(name)
    return fetched


def git_log_files(path: Path, revs: Sequence[str]) -> Iterator[dict]:
    """Every commit reachable from `revs` once, with the files it changed (merges: none):
    sha, author email, author date and committer date (ISO), parents, files."""
    args = [
        "-c",
        "core.quotePath=false",
        "log",
        "--no-renames",
        "--name-only",
        "--format=%x1e%H%x1f%ae%x1f%aI%x1f%cI%x1f%P",
        *revs,
        "--",
    ]
    out = _run(args, cwd=path, timeout=FETCH_TIMEOUT_SECONDS)
    for block in out.split("\x1e"):
        if not block.strip():
            continue
        head, _, rest = block.partition("\n")
        parts = head.split("\x1f")
        if len(parts) != 5:
            continue
        sha, email, authored, committed, parents = parts
        yield {
            "sha": sha,
            "author_email": email,
            "authored_at": authored,
            "committed_at": committed,
            "parents": parents.split(),
            "files": [line for line in rest.splitlines() if line.strip()],
        }


def git_dir_bytes(path: Path) -> int:
    """Bytes a clone takes on disk."""
    return _size(path)


def git_shallow_shas(path: Path) -> set[str]:
    """Commits at the shallow boundary (their parents were not fetched)."""
    shallow = path / ".git" / "shallow"
    with contextlib.suppress(OSError):
        return set(shallow.read_text().split())
    return set()


def git_changed_files(path: Path, sha: str, *, token: str | None = None) -> list[str]:
    """File names a commit changed (like `git show --name-only`; merges: none)."""
    if not _SHA.match(sha):
        raise GitError(f"not a commit SHA: {sha!r}")
    out = _run(
        ["-c", "core.quotePath=false", "show", "--no-renames", "--name-only", "--format=", sha],
        cwd=path,
        token=token,
    )
    return [line for line in out.splitlines() if line.strip()]


def git_log(
    path: Path,
    *,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    author: str | None = None,
    rev: str = "HEAD",
    max_count: int | None = None,
) -> list[dict]:
    """Commits reachable from `rev`: sha, author name/email, author date (ISO), parents."""
    args = ["log", "--format=%H%x1f%an%x1f%ae%x1f%aI%x1f%P", rev]
    if since is not None:
        args.append(f"--since={since.isoformat()}")
    if until is not None:
        args.append(f"--until={until.isoformat()}")
    if author:
        args.append(f"--author={author}")
    if max_count:
        args.append(f"--max-count={int(max_count)}")
    rows = []
    for line in _run(args, cwd=path).splitlines():
        parts = line.split("\x1f")
        if len(parts) != 5:
            continue
        sha, name, email, when, parents = parts
        rows.append(
            {
                "sha": sha,
                "author_name": name,
                "author_email": email,
                "authored_at": when,
                "parents": parents.split(),
            }
        )
    return rows


__all__ = [
    "GitError",
    "GitTransient",
    "clone_repo",
    "clone_url",
    "git_changed_files",
    "git_dir_bytes",
    "git_fetch_branches",
    "git_fetch_shas",
    "git_log",
    "git_log_files",
    "git_shallow_shas",
]
