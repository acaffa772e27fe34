"""The profile pipeline's steps: what each one reads, asks GitHub and the LLM, and writes.

Each step is a function `(ctx) -> output dict`. It raises `StepSkipped` / `StepFailed` for
outcomes it handles, gateway errors for the runner to map (rate limits wait, transient
errors retry), and `UserGone` when the user was deleted while it ran. Writes happen in
short transactions that first lock the user row (`locked_user`), so a concurrent
deletion either waits for them or makes them return quietly: no orphans, no errors.
Limits, filters and prompt inputs are seed 000's (seed-behaviour.md §1–§5).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from repos.models import Repo, UserRepo
from users.models import GitHubUser, WorkItem

logger = logging.getLogger(__name__)

# Step names, in the order progress lists them.
FETCH_PROFILE = "fetch_profile"
FETCH_REPOS = "fetch_repos"
SELECT_HIGHLIGHTS = "select_highlights"
REPO_BLURB = "repo_blurb"
REPO_EMPHASIS = "repo_emphasis"
REPO_KEYWORDS = "repo_keywords"
REPO_KIND = "repo_kind"
REPO_LINK = "repo_link"
REPO_MEDIA = "repo_media"
USER_THEME = "user_theme"

USER_STEPS = (FETCH_PROFILE, FETCH_REPOS, SELECT_HIGHLIGHTS, USER_THEME)
REPO_STEPS = (REPO_BLURB, REPO_EMPHASIS, REPO_KEYWORDS, REPO_KIND, REPO_LINK, REPO_MEDIA)
ALL_STEPS = (
    FETCH_PROFILE,
    FETCH_REPOS,
    SELECT_HIGHLIGHTS,
    REPO_BLURB,
    REPO_EMPHASIS,
    REPO_KEYWORDS,
    REPO_KIND,
    REPO_LINK,
    REPO_MEDIA,
    USER_THEME,
)
# A failure of these fails the run; every other step is optional (the profile stands).
REQUIRED_STEPS = frozenset({FETCH_PROFILE, FETCH_REPOS})
# User-scoped prerequisites of each step; repo steps also need their repo's blurb where
# the seed fed them the generated description.
DEPENDS_ON: dict[str, tuple[str, ...]] = {
    FETCH_PROFILE: (),
    FETCH_REPOS: (FETCH_PROFILE,),
    SELECT_HIGHLIGHTS: (FETCH_REPOS,),
    USER_THEME: (SELECT_HIGHLIGHTS,),
    REPO_BLURB: (SELECT_HIGHLIGHTS,),
    REPO_LINK: (SELECT_HIGHLIGHTS,),
    REPO_MEDIA: (SELECT_HIGHLIGHTS,),
    REPO_EMPHASIS: (SELECT_HIGHLIGHTS, REPO_BLURB),
    REPO_KEYWORDS: (SELECT_HIGHLIGHTS, REPO_BLURB),
    REPO_KIND: (SELECT_HIGHLIGHTS, REPO_BLURB),
}


def steps_from(step: str) -> list[str]:
    """`step` and every step downstream of it (restart ?from=)."""
    out = {step}
    changed = True
    while changed:
        changed = False
        for name, deps in DEPENDS_ON.items():
            if name not in out and out.intersection(deps):
                out.add(name)
                changed = True
    return [name for name in ALL_STEPS if name in out]


# Seed 000's limits.
OWNED_REPOS_LIMIT = 30
RECENT_DAYS = 2 * 365
MIN_COMMIT_DAYS = 4
BRANCHES_LIMIT = 10
COMMITS_PER_BRANCH = 100
CONTRIBUTION_WINDOW_DAYS = 365
CONTRIBUTED_CAP = 200
NOMINEES_LIMIT = 30
PROMPT_TOKEN_BUDGET = 5000
BLURB_CONTEXT_BUDGET = 5000
BLURB_CALL_LIMIT = 5500


class StepSkipped(Exception):
    def __init__(self, output: dict[str, Any]):
        self.output = output
        super().__init__(output.get("reason", "skipped"))


class StepFailed(Exception):
    def __init__(self, message: str, output: dict[str, Any] | None = None):
        self.output = output
        super().__init__(message)


class UserGone(Exception):
    """The user (or the repo) was deleted while the step ran: stop quietly."""


@dataclass
class StepContext:
    user: GitHubUser
    item: WorkItem
    repo: Repo | None = None
    token: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def locked_user(user_id: int) -> Iterator[GitHubUser]:
    """A transaction holding the user row (FOR NO KEY UPDATE); UserGone when deleted."""
    with transaction.atomic():
        user = GitHubUser.objects.select_for_update(no_key=True).filter(id=user_id).first()
        if user is None:
            raise UserGone()
        yield user


def _gw():
    from workers.github import github

    return github()


def _parse_dt(value: str | None) -> datetime | None:
    if not value:
        return None
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


# ---------------------------------------------------------------------------- profile
def fetch_profile(ctx: StepContext) -> dict[str, Any]:
    from workers.github import errors as gh_errors

    try:
        data = _gw().user(ctx.user.login, token=ctx.token)
    except gh_errors.NotFound:
        raise StepFailed("no such GitHub user", {"profile_found": False}) from None
    fields = {
        "name": (data.get("name") or "")[:255],
        "avatar_url": (data.get("avatar_url") or "")[:500],
        "html_url": (data.get("html_url") or "")[:500],
        "bio": data.get("bio") or "",
        "company": (data.get("company") or "")[:255],
        "location": (data.get("location") or "")[:255],
        "blog": (data.get("blog") or "")[:500],
        "public_repos": data.get("public_repos"),
        "followers": data.get("followers"),
        "github_created_at": _parse_dt(data.get("created_at")),
        "profile_fetched_at": timezone.now(),
        "updated_at": timezone.now(),
    }
    login = data.get("login") or ctx.user.login
    if login.lower() == ctx.user.login.lower():
        fields["login"] = login  # GitHub's capitalisation
    with locked_user(ctx.user.id):
        GitHubUser.objects.filter(id=ctx.user.id).update(**fields)
        github_id = data.get("id")
        # Another row may hold this id (a renamed account); only the first keeps it.
        if github_id and not GitHubUser.objects.filter(github_id=github_id).exists():
            GitHubUser.objects.filter(id=ctx.user.id).update(github_id=github_id)
    # The seed's fetch_profile keeps is_ghost as it was: the state is not touched here.
    return {"profile_found": True, "login": login, "public_repos": data.get("public_repos")}


# ------------------------------------------------------------------------------ repos
def _recent(payload: dict[str, Any], cutoff: datetime) -> bool:
    stamp = _parse_dt(payload.get("pushed_at") or payload.get("updated_at"))
    return stamp is None or stamp >= cutoff  # the seed counts a missing timestamp as recent


def commit_days(full_name: str, login: str, *, default_branch: str, token: str | None) -> int:
    """Unique days with commits authored by `login`: default branch first, ≤ 10 branches,
    ≤ 100 commits each (seed 000's count, without its early stop so the tie-break sees
    real numbers)."""
    from workers.github import errors as gh_errors

    gw = _gw()
    try:
        branches = gw.branches(full_name, limit=BRANCHES_LIMIT, token=token)
    except (gh_errors.NotFound, gh_errors.EmptyRepository, gh_errors.Blocked):
        return 0
    names = [default_branch] if default_branch else []
    names += [b["name"] for b in branches if b.get("name") and b["name"] != default_branch]
    days: set[str] = set()
    for name in names[:BRANCHES_LIMIT]:
        try:
            commits = gw.commits(
                full_name, author=login, sha=name, limit=COMMITS_PER_BRANCH, token=token
            )
        except gh_errors.EmptyRepository:
            return 0
        except (gh_errors.NotFound, gh_errors.Blocked):
            continue
        for commit in commits:
            info = commit.get("commit") or {}
            stamp = (info.get("author") or {}).get("date") or (info.get("committer") or {}).get(
                "date"
            )
            if stamp:
                days.add(stamp[:10])
    return len(days)


def fetch_repos(ctx: StepContext) -> dict[str, Any]:
    from repos import services as repo_services
    from workers.github import errors as gh_errors

    gw = _gw()
    login = ctx.user.login
    now = datetime.now(UTC)
    cutoff = now - timedelta(days=RECENT_DAYS)
    owned = gw.user_repos(login, sort="pushed", limit=OWNED_REPOS_LIMIT, token=ctx.token)
    kept: list[tuple[dict, str, int]] = []
    seen = {p["full_name"].lower() for p in owned}
    for payload in owned[:OWNED_REPOS_LIMIT]:
        if not payload.get("language") or not _recent(payload, cutoff):
            continue
        days = commit_days(
            payload["full_name"],
            login,
            default_branch=payload.get("default_branch") or "",
            token=ctx.token,
        )
        if payload.get("fork"):
            if days >= MIN_COMMIT_DAYS:
                kept.append((payload, UserRepo.Reason.FORK_ACTIVE, days))
        else:
            kept.append((payload, UserRepo.Reason.OWNED, days))

    # Contributions to other owners' repos, in 365-day windows back two years.
    contributed: list[str] = []
    windows_failed = 0
    until = now
    while until > cutoff:
        since = max(cutoff, until - timedelta(days=CONTRIBUTION_WINDOW_DAYS))
        try:
            rows = gw.contributions(login, since=since, until=until, token=ctx.token)
        except (gh_errors.RateLimited, gh_errors.SecondaryRateLimited, gh_errors.Transient):
            raise
        except gh_errors.GitHubError as exc:
            # The seed logs a failing window and treats it as empty.
            logger.warning(
                "users.contributions_window_failed",
                extra={"user": login, "error": str(exc)[:200]},
            )
            windows_failed += 1
            rows = []
        for row in rows:
            full = row.get("full_name") or ""
            if not full or row.get("is_private") or "/" not in full:
                continue
            if full.split("/", 1)[0].lower() == login.lower() or full.lower() in seen:
                continue
            seen.add(full.lower())
            contributed.append(full)
        until = since
    contributed = contributed[:CONTRIBUTED_CAP]
    for full in contributed:
        try:
            payload = gw.repo(full, token=ctx.token)
        except (gh_errors.NotFound, gh_errors.Blocked):
            continue
        if payload.get("private") or not payload.get("language") or not _recent(payload, cutoff):
            continue
        days = commit_days(
            payload["full_name"],
            login,
            default_branch=payload.get("default_branch") or "",
            token=ctx.token,
        )
        if days >= MIN_COMMIT_DAYS:
            kept.append((payload, UserRepo.Reason.CONTRIBUTED, days))

    with locked_user(ctx.user.id):
        repos = repo_services.repos_upsert_from_github(payloads=[p for p, _, _ in kept])
        links = [
            repo_services.LinkSpec(
                repo_id=repos[p["full_name"].lower()].id, include_reason=why, commit_days=days
            )
            for p, why, days in kept
            if p["full_name"].lower() in repos
        ]
        unlinked = repo_services.user_repo_links_sync(user_id=ctx.user.id, links=links)
        repo_services.repos_delete_orphans(repo_ids=unlinked)
    reasons = Counter(why for _, why, _ in kept)
    return {
        "fetched": len(links),
        "owned": reasons.get(UserRepo.Reason.OWNED, 0),
        "fork_active": reasons.get(UserRepo.Reason.FORK_ACTIVE, 0),
        "contributed": reasons.get(UserRepo.Reason.CONTRIBUTED, 0),
        "contribution_candidates": len(contributed),
        "contribution_windows_failed": windows_failed,
    }


# ------------------------------------------------------------------------- highlights
ENRICHING_PROMPT = """\
You look at a developer's GitHub repositories and find what ties their work together.
Name their theme as a short noun phrase: their vision if one shows, otherwise their
main interest. Then pick the 1 to 5 repositories (by name) that best show that theme.

Repositories:
"""


def _repo_block(repo: Repo) -> str:
    lines = [f"name: {repo.name}"]
    if repo.description:
        lines.append(f"description: {repo.description}")
    lines.append(f"language: {repo.language}")
    lines.append(f"stars: {repo.stargazers_count}")
    stamp = repo.pushed_at or repo.github_updated_at
    lines.append(f"pushed_at: {stamp.isoformat() if stamp else ''}")
    return "\n".join(lines) + "\n\n"


def _budgeted_prompt(repos: list[Repo]) -> tuple[str, int]:
    """The enriching prompt over as many repos as fit the seed's 5000-token budget.

    The seed made no call at all when the prompt was too long; dropping the oldest
    nominees until it fits is the fix.
    """
    from workers.llm import count_tokens

    blocks = [_repo_block(repo) for repo in repos]
    while blocks:
        prompt = ENRICHING_PROMPT + "".join(blocks)
        if count_tokens(prompt) < PROMPT_TOKEN_BUDGET:
            return prompt, len(blocks)
        blocks.pop()
    return ENRICHING_PROMPT, 0


def _validate_highlights(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("repos"), list):
        raise ValueError("expected an object with a repos array")
    names = [str(n).strip() for n in value["repos"] if isinstance(n, str) and n.strip()]
    if not 1 <= len(names) <= 5:
        raise ValueError(f"expected 1-5 repo names, got {len(names)}")
    theme = value.get("theme")
    return {"theme": theme.strip()[:255] if isinstance(theme, str) else "", "repos": names}


def _heuristic_theme(repos: list[Repo]) -> str:
    languages = Counter(r.language for r in repos if r.language)
    topics = Counter(t for r in repos for t in (r.topics or []))
    if topics:
        topic = topics.most_common(1)[0][0].replace("-", " ")
        if languages:
            return f"{languages.most_common(1)[0][0]} {topic}"[:255]
        return topic[:255]
    if languages:
        return f"{languages.most_common(1)[0][0]} software"
    return ""


def _heuristic_highlights(links: list[UserRepo]) -> dict[str, Any]:
    """No LLM key or no usable answer (the seed had no fallback): the three nominees with
    the most commit days, then stars, then recency."""
    ranked = sorted(
        links,
        key=lambda link: (
            link.commit_days or 0,
            link.repo.stargazers_count,
            (link.repo.recency or datetime.min.replace(tzinfo=UTC)).timestamp(),
        ),
        reverse=True,
    )[:3]
    return {
        "theme": _heuristic_theme([link.repo for link in links]),
        "repos": [link.repo.full_name for link in ranked],
    }


def select_highlights(ctx: StepContext) -> dict[str, Any]:
    from repos import selectors as repo_selectors
    from workers.github import errors as gh_errors
    from workers.llm import llm_json

    links = repo_selectors.user_links_list(user_id=ctx.user.id)
    candidates = [link for link in links if (link.commit_days or 0) >= MIN_COMMIT_DAYS]
    unknown = [link.repo for link in candidates if link.repo.has_readme is None]
    if unknown:
        gw = _gw()
        for repo in unknown:
            try:
                repo.has_readme = gw.readme(repo.full_name, token=ctx.token) is not None
            except (gh_errors.NotFound, gh_errors.EmptyRepository, gh_errors.Blocked):
                repo.has_readme = False
        Repo.objects.bulk_update(unknown, ["has_readme"])
    nominees = [link for link in candidates if link.repo.has_readme][:NOMINEES_LIMIT]
    if not nominees:
        with locked_user(ctx.user.id):
            from repos.services import user_highlights_set

            user_highlights_set(user_id=ctx.user.id, repo_ids=[])
        return {"repos": [], "theme": "", "nominees": 0, "source": "none"}

    prompt, used = _budgeted_prompt([link.repo for link in nominees])
    answer = llm_json(
        task="select_highlights",
        prompt=prompt,
        shape='{"theme": "short noun phrase", "repos": ["repo name", "..."]}',
        validate=_validate_highlights,
        fallback=lambda: _heuristic_highlights(nominees[:used] or nominees),
        fallback_on_failure=True,
    )
    value, source = answer.value, answer.source
    ids = repo_selectors.highlight_resolve(
        user_login=ctx.user.login, links=links, names=value["repos"]
    )
    if not ids:
        # The answer named nothing we know: the heuristic picks instead.
        value, source = _heuristic_highlights(nominees), "fallback"
        ids = repo_selectors.highlight_resolve(
            user_login=ctx.user.login, links=links, names=value["repos"]
        )
    ids = ids[:5]
    with locked_user(ctx.user.id):
        from repos.services import user_highlights_set

        user_highlights_set(user_id=ctx.user.id, repo_ids=ids)
    by_id = {link.repo_id: link.repo for link in links}
    return {
        "repos": [by_id[i].name for i in ids],
        "full_names": [by_id[i].full_name for i in ids],
        "theme": value.get("theme", ""),
        "nominees": len(nominees),
        "prompt_nominees": used,
        "source": source,
        "llm_error": answer.error or None,
    }


def _highlighted_repos(user_id: int) -> list[Repo]:
    links = (
        UserRepo.objects.filter(user_id=user_id, highlight_rank__isnull=False)
        .select_related("repo")
        .order_by("highlight_rank")
    )
    return [link.repo for link in links]


def user_theme(ctx: StepContext) -> dict[str, Any]:
    from workers.llm import llm_json

    repos = _highlighted_repos(ctx.user.id)
    if not repos:
        theme, source = "", "none"
    else:
        selected = (
            WorkItem.objects.filter(user_id=ctx.user.id, step=SELECT_HIGHLIGHTS, repo=None)
            .values_list("output", flat=True)
            .first()
        ) or {}

        def fallback() -> dict[str, str]:
            # The highlight answer's theme when the LLM gave one, else a heuristic.
            if selected.get("source") == "llm" and selected.get("theme"):
                return {"theme": selected["theme"]}
            return {"theme": _heuristic_theme(repos)}

        def validate(value: Any) -> dict[str, str]:
            theme = value.get("theme") if isinstance(value, dict) else None
            if not isinstance(theme, str) or not theme.strip():
                raise ValueError("expected a non-empty theme string")
            return {"theme": theme.strip()[:255]}

        prompt, _ = _budgeted_prompt(repos)
        # The seed parsed this answer with a strict json.loads and kept "" on any failure;
        # the gateway's tolerant parsing plus a fallback theme are the fix.
        answer = llm_json(
            task="user_theme",
            prompt=prompt,
            shape='{"theme": "short noun phrase"}',
            validate=validate,
            fallback=fallback,
            fallback_on_failure=True,
        )
        theme, source = answer.value["theme"], answer.source
    with locked_user(ctx.user.id):
        GitHubUser.objects.filter(id=ctx.user.id).update(theme=theme, updated_at=timezone.now())
    return {"theme": theme, "source": source}


# ------------------------------------------------------------------- per-repo: blurb
PRIORITY_FILES = (
    "README.md",
    "README.rst",
    "README.txt",
    "README",
    "package.json",
    "requirements.txt",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "go.mod",
    "Cargo.toml",
    "Gemfile",
    "pom.xml",
    "build.gradle",
    "composer.json",
    "Dockerfile",
    "docker-compose.yml",
    "Makefile",
    "main.py",
    "app.py",
    "index.js",
    "main.go",
    "main.rs",
)
PRIORITY_DIRS = (
    "src",
    "app",
    "server",
    "cmd",
    "internal",
    "pkg",
    "lib",
    "services",
    "backend",
    "frontend",
    "api",
    "docs",
)
TEXT_EXTENSIONS = frozenset(
    [
        ".py",
        ".js",
        ".jsx",
        ".ts",
        ".tsx",
        ".go",
        ".rs",
        ".java",
        ".kt",
        ".rb",
        ".php",
        ".cs",
        ".cpp",
        ".cc",
        ".c",
        ".h",
        ".hpp",
        ".swift",
        ".scala",
        ".sh",
        ".sql",
        ".r",
        ".m",
        ".mm",
        ".ex",
        ".exs",
        ".hs",
        ".lua",
        ".dart",
        ".vue",
        ".svelte",
        ".md",
        ".rst",
        ".txt",
        ".toml",
        ".yaml",
        ".yml",
        ".json",
        ".ini",
        ".cfg",
    ]
)
SKIP_DIRS = frozenset(
    [
        "node_modules",
        "vendor",
        "dist",
        "build",
        "out",
        ".next",
        ".nuxt",
        ".git",
        ".github",
        "coverage",
        "target",
        "__pycache__",
        ".venv",
        "venv",
        "env",
        ".idea",
        ".vscode",
        ".dart_tool",
    ]
)
WALK_PICK_LIMIT = 250
HEAD_CHARS, TAIL_CHARS = 5000, 2000

BLURB_PROMPT = """\
Describe this repository in one plain, objective paragraph: what the project is, which
technologies it uses and how. No hype adjectives, no marketing tone.

repository: {full_name}
language: {language}
description: {description}
"""


def _read_snippet(path: Path) -> str | None:
    try:
        if path.stat().st_size > 2_000_000:
            return None
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError):
        return None
    if len(text) > HEAD_CHARS + TAIL_CHARS:
        text = text[:HEAD_CHARS] + "\n[truncated]\n" + text[-TAIL_CHARS:]
    return text


def _context_files(root: Path) -> list[Path]:
    """The seed's order: root priority files, a walk of priority dirs, any README."""
    picked: list[Path] = [root / name for name in PRIORITY_FILES if (root / name).is_file()]
    walked = 0
    for dirname in PRIORITY_DIRS:
        base = root / dirname
        if not base.is_dir():
            continue
        for current, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
            for name in sorted(files):
                if Path(name).suffix.lower() in TEXT_EXTENSIONS:
                    picked.append(Path(current) / name)
                    walked += 1
                    if walked >= WALK_PICK_LIMIT:
                        break
            if walked >= WALK_PICK_LIMIT:
                break
        if walked >= WALK_PICK_LIMIT:
            break
    if not any(p.name.lower().startswith("readme") for p in picked):
        for current, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")]
            readme = next((f for f in sorted(files) if f.lower().startswith("readme")), None)
            if readme:
                picked.append(Path(current) / readme)
                break
    return picked


def blurb_prompt(repo: Repo, root: Path | None) -> tuple[str, int]:
    """The blurb prompt with as much context as fits the seed's 5000-token budget."""
    from workers.llm import count_tokens

    head = BLURB_PROMPT.format(
        full_name=repo.full_name,
        language=repo.language or "unknown",
        description=repo.description or "",
    )
    used = count_tokens(head)
    sections: list[str] = []
    if root is not None:
        for path in _context_files(root):
            text = _read_snippet(path)
            if not text:
                continue
            section = f"### {path.relative_to(root).as_posix()}\n{text}\n"
            cost = count_tokens(section)
            if used + cost > BLURB_CONTEXT_BUDGET:
                break
            sections.append(section)
            used += cost
    prompt = head + "\nBEGIN CONTEXT\n" + "".join(sections) + "END CONTEXT\n"
    return prompt, len(sections)


def _heuristic_blurb(repo: Repo, root: Path | None) -> str:
    parts = [f"{repo.name} is a {repo.language or 'software'} project"]
    if repo.description:
        parts[0] += f": {repo.description.rstrip('.')}"
    text = parts[0] + "."
    if root is not None:
        for name in ("README.md", "README.rst", "README"):
            path = root / name
            if path.is_file():
                snippet = _read_snippet(path) or ""
                paragraphs = [
                    p.strip()
                    for p in snippet.split("\n\n")
                    if p.strip() and not p.lstrip().startswith(("#", "!", "[", "<", "```"))
                ]
                if paragraphs:
                    text += " " + " ".join(paragraphs[0].split())[:400]
                break
    return text


def repo_blurb(ctx: StepContext) -> dict[str, Any]:
    from workers.github import errors as gh_errors
    from workers.github.git import GitError, clone_repo
    from workers.llm import count_tokens, llm_json

    repo = ctx.repo
    assert repo is not None

    def ask(root: Path | None) -> tuple[Any, int, int]:
        prompt, files = blurb_prompt(repo, root)
        tokens = count_tokens(prompt)

        def validate(value: Any) -> str:
            blurb = value.get("blurb") if isinstance(value, dict) else None
            if not isinstance(blurb, str) or not blurb.strip():
                raise ValueError("expected a non-empty blurb string")
            return blurb.strip()

        if tokens >= BLURB_CALL_LIMIT:
            return None, files, tokens
        answer = llm_json(
            task="repo_blurb",
            prompt=prompt,
            shape='{"blurb": "one paragraph"}',
            validate=validate,
            fallback=lambda: _heuristic_blurb(repo, root),
            fallback_on_failure=True,
        )
        return answer, files, tokens

    clone_error = ""
    try:
        with clone_repo(repo.full_name, depth=1, token=ctx.token) as root:
            answer, files, tokens = ask(root)
            fallback_text = _heuristic_blurb(repo, root)
    except gh_errors.EmptyRepository:
        raise StepSkipped({"reason": "empty_repository"}) from None
    except (gh_errors.RateLimited, gh_errors.SecondaryRateLimited):
        raise
    except (gh_errors.GitHubError, GitError, OSError) as exc:
        # No clone (gone, too large, git error): describe from the metadata alone.
        clone_error = str(exc)[:300]
        answer, files, tokens = ask(None)
        fallback_text = _heuristic_blurb(repo, None)
    blurb = answer.value if answer is not None else fallback_text
    source = answer.source if answer is not None else "fallback"
    from repos.services import repo_derived_update

    with locked_user(ctx.user.id):
        if not repo_derived_update(repo_id=repo.id, blurb=blurb):
            raise UserGone()
    return {
        "description_len": len(blurb),
        "context_files": files,
        "prompt_tokens": tokens,
        "source": source,
        "clone_error": clone_error or None,
    }


# -------------------------------------------------------- per-repo: tags, kind, link
KNOWN_TECH = [
    "Python",
    "Django",
    "Flask",
    "FastAPI",
    "Celery",
    "Redis",
    "PostgreSQL",
    "SQLite",
    "MySQL",
    "React",
    "Vue",
    "Svelte",
    "Angular",
    "Node.js",
    "TypeScript",
    "JavaScript",
    "Go",
    "Rust",
    "Java",
    "Kotlin",
    "Ruby",
    "Rails",
    "PHP",
    "Laravel",
    "C++",
    "C#",
    "Swift",
    "Docker",
    "Kubernetes",
    "GraphQL",
    "gRPC",
    "Terraform",
    "AWS",
    "TensorFlow",
    "PyTorch",
    "NumPy",
    "pandas",
    "Tokio",
    "Actix",
    "Express",
    "Next.js",
    "Tailwind",
    "WebAssembly",
    "Elixir",
    "Haskell",
    "Scala",
    "Spark",
    "Kafka",
]


def _blurb_or_skip(ctx: StepContext) -> str:
    repo = Repo.objects.filter(id=ctx.repo.id).only("blurb").first() if ctx.repo else None
    if repo is None:
        raise UserGone()
    if not repo.blurb.strip():
        raise StepSkipped({"reason": "no_generated_description"})
    return repo.blurb


def _string_list(value: Any, key: str, *, low: int, high: int) -> list[str]:
    items = value.get(key) if isinstance(value, dict) else value
    if not isinstance(items, list):
        raise ValueError("not_array")
    if not all(isinstance(i, str) and i.strip() for i in items):
        raise ValueError("invalid_array_elements")
    out = list(dict.fromkeys(i.strip() for i in items))
    if not low <= len(out) <= high:
        raise ValueError("array_length_out_of_range")
    return out


def _save_repo_fields(ctx: StepContext, **values: Any) -> None:
    from repos.services import repo_derived_update

    with locked_user(ctx.user.id):
        if not repo_derived_update(repo_id=ctx.repo.id, **values):
            raise UserGone()


def repo_emphasis(ctx: StepContext) -> dict[str, Any]:
    from workers.llm import llm_json

    blurb = _blurb_or_skip(ctx)
    repo = ctx.repo

    def fallback() -> list[str]:
        found = [t for t in KNOWN_TECH if t.lower() in blurb.lower()]
        if repo.language and repo.language not in found:
            found.insert(0, repo.language)
        return found[:6] or ["Software"]

    answer = llm_json(
        task="repo_emphasis",
        prompt=(
            "List the frameworks, languages, technologies and libraries this project uses, "
            "capitalised as written.\n\n" + blurb
        ),
        shape='{"emphasis": ["technology", "..."]}',
        validate=lambda v: _string_list(v, "emphasis", low=1, high=20),
        fallback=fallback,
        fallback_on_failure=True,
    )
    _save_repo_fields(ctx, emphasis=answer.value)
    return {"emphasis": answer.value, "count": len(answer.value), "source": answer.source}


def repo_keywords(ctx: StepContext) -> dict[str, Any]:
    from workers.llm import llm_json

    blurb = _blurb_or_skip(ctx)
    repo = ctx.repo

    def fallback() -> list[str]:
        topics = [t.replace("-", " ") for t in (repo.topics or [])]
        return topics[:4] or ["software design"]

    answer = llm_json(
        task="repo_keywords",
        prompt=(
            "Give 1 to 4 conceptual skill keywords this project demonstrates: techniques and "
            "knowledge, not tools, frameworks or languages.\n\n" + blurb
        ),
        shape='{"keywords": ["skill", "..."]}',
        validate=lambda v: _string_list(v, "keywords", low=1, high=4),
        fallback=fallback,
        fallback_on_failure=True,
    )
    _save_repo_fields(ctx, keywords=answer.value)
    return {"keywords": answer.value, "count": len(answer.value), "source": answer.source}


def _heuristic_kind(repo: Repo, blurb: str) -> str:
    text = f"{repo.name} {repo.description} {blurb}".lower()
    for needle, kind in (
        ("command-line", "command-line tool"),
        (" cli", "command-line tool"),
        ("library", "software library"),
        ("framework", "software framework"),
        ("web app", "web application"),
        ("api", "web service"),
        ("game", "game"),
        ("plugin", "editor plugin"),
    ):
        if needle in text:
            return kind
    return "software project"


def repo_kind(ctx: StepContext) -> dict[str, Any]:
    from workers.llm import llm_json

    blurb = _blurb_or_skip(ctx)

    def validate(value: Any) -> str:
        kind = value.get("kind") if isinstance(value, dict) else value
        if not isinstance(kind, str) or not kind.strip():
            raise ValueError("expected a kind string")
        words = kind.strip().rstrip(".").split()
        # The seed saved anything, even empty text; we hold it to 1-4 words.
        if not 1 <= len(words) <= 4:
            raise ValueError("kind must be 1-4 words")
        return " ".join(words)[:80]

    answer = llm_json(
        task="repo_kind",
        prompt=(
            "Name what kind of project this is as one simple noun phrase of 1 to 4 words "
            '(for example "news aggregator", "functional programming language", '
            '"data workflow orchestration").\n\n' + blurb
        ),
        shape='{"kind": "noun phrase"}',
        validate=validate,
        fallback=lambda: _heuristic_kind(ctx.repo, blurb),
        fallback_on_failure=True,
    )
    _save_repo_fields(ctx, kind=answer.value)
    return {"kind": answer.value, "source": answer.source}


def link_from_homepage(homepage: str | None) -> str | None:
    """Seed 000's rule: `//x` → `https://x`, http(s) kept, a bare host gets https://."""
    value = (homepage or "").strip()
    if not value or any(ch.isspace() for ch in value):
        return None
    if value.startswith("//"):
        value = "https:" + value
    elif not value.lower().startswith(("http://", "https://")):
        value = "https://" + value
    return value[:500]


def repo_link(ctx: StepContext) -> dict[str, Any]:
    link = link_from_homepage(ctx.repo.homepage if ctx.repo else None)
    _save_repo_fields(ctx, link=link or "")
    return {"link": link}


def repo_media(ctx: StepContext) -> dict[str, Any]:
    try:
        from repos.gallery import readme_media_collect
    except ImportError:
        raise StepSkipped({"reason": "readme_media_unavailable"}) from None
    return readme_media_collect(repo_id=ctx.repo.id, token=ctx.token)


STEP_FUNCTIONS: dict[str, Callable[[StepContext], dict[str, Any]]] = {
    FETCH_PROFILE: fetch_profile,
    FETCH_REPOS: fetch_repos,
    SELECT_HIGHLIGHTS: select_highlights,
    USER_THEME: user_theme,
    REPO_BLURB: repo_blurb,
    REPO_EMPHASIS: repo_emphasis,
    REPO_KEYWORDS: repo_keywords,
    REPO_KIND: repo_kind,
    REPO_LINK: repo_link,
    REPO_MEDIA: repo_media,
}
