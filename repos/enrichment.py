"""The enrichment's pure parts: prompts, their budgets, answer checks, heuristic fallbacks,
the choice of key files for a blurb, and the repo link.

No HTTP, no database writes, no LLM call: the pipeline's steps (users.pipeline) ask the
LLM with these prompts and fall back to these heuristics, and the tests here check them
alone. Prompts are budgeted in tokens of the gpt-4 encoding (`PROMPT_TOKEN_BUDGET`,
`BLURB_CONTEXT_BUDGET`); what a prompt holds is listed beside it.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from repos.models import Repo, UserRepo
from workers.llm import count_tokens

PROMPT_TOKEN_BUDGET = 5000
BLURB_CONTEXT_BUDGET = 5000
BLURB_CALL_LIMIT = 5500


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


def highlights_prompt(repos: list[Repo]) -> tuple[str, int]:
    """The enriching prompt over as many repos as fit the 5000-token budget.

    A prompt too long for the budget is not given up on: the last nominees (the least
    recently pushed) are dropped until it fits.
    """
    blocks = [_repo_block(repo) for repo in repos]
    while blocks:
        prompt = ENRICHING_PROMPT + "".join(blocks)
        if count_tokens(prompt) < PROMPT_TOKEN_BUDGET:
            return prompt, len(blocks)
        blocks.pop()
    return ENRICHING_PROMPT, 0


def highlights_validate(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("repos"), list):
        raise ValueError("expected an object with a repos array")
    names = [str(n).strip() for n in value["repos"] if isinstance(n, str) and n.strip()]
    if not 1 <= len(names) <= 5:
        raise ValueError(f"expected 1-5 repo names, got {len(names)}")
    theme = value.get("theme")
    return {"theme": theme.strip()[:255] if isinstance(theme, str) else "", "repos": names}


def theme_heuristic(repos: list[Repo]) -> str:
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


def highlights_heuristic(links: list[UserRepo]) -> dict[str, Any]:
    """No LLM key or no usable answer: the three nominees with
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
        "theme": theme_heuristic([link.repo for link in links]),
        "repos": [link.repo.full_name for link in ranked],
    }


def theme_validate(value: Any) -> dict[str, str]:
    theme = value.get("theme") if isinstance(value, dict) else None
    if not isinstance(theme, str) or not theme.strip():
        raise ValueError("expected a non-empty theme string")
    return {"theme": theme.strip()[:255]}


# ---------------------------------------------------------------------------- blurb
# Key files: root priority files first, then a walk of priority dirs.
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


def read_snippet(path: Path) -> str | None:
    try:
        if path.stat().st_size > 2_000_000:
            return None
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError):
        return None
    if len(text) > HEAD_CHARS + TAIL_CHARS:
        text = text[:HEAD_CHARS] + "\n[truncated]\n" + text[-TAIL_CHARS:]
    return text


def context_files(root: Path) -> list[Path]:
    """Key files in order: root priority files, a walk of priority dirs, any README."""
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
    """The blurb prompt with as much context as fits the 5000-token budget."""
    head = BLURB_PROMPT.format(
        full_name=repo.full_name,
        language=repo.language or "unknown",
        description=repo.description or "",
    )
    used = count_tokens(head)
    sections: list[str] = []
    if root is not None:
        for path in context_files(root):
            text = read_snippet(path)
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


def blurb_heuristic(repo: Repo, root: Path | None) -> str:
    parts = [f"{repo.name} is a {repo.language or 'software'} project"]
    if repo.description:
        parts[0] += f": {repo.description.rstrip('.')}"
    text = parts[0] + "."
    if root is not None:
        for name in ("README.md", "README.rst", "README"):
            path = root / name
            if path.is_file():
                snippet = read_snippet(path) or ""
                paragraphs = [
                    p.strip()
                    for p in snippet.split("\n\n")
                    if p.strip() and not p.lstrip().startswith(("#", "!", "[", "<", "```"))
                ]
                if paragraphs:
                    text += " " + " ".join(paragraphs[0].split())[:400]
                break
    return text


def blurb_validate(value: Any) -> str:
    blurb = value.get("blurb") if isinstance(value, dict) else None
    if not isinstance(blurb, str) or not blurb.strip():
        raise ValueError("expected a non-empty blurb string")
    return blurb.strip()


# -------------------------------------------------------- per-repo: tags, kind, link
EMPHASIS_PROMPT = (
    "List the frameworks, languages, technologies and libraries this project uses, "
    "capitalised as written.\n\n"
)
KEYWORDS_PROMPT = (
    "Give 1 to 4 conceptual skill keywords this project demonstrates: techniques and "
    "knowledge, not tools, frameworks or languages.\n\n"
)
KIND_PROMPT = (
    "Name what kind of project this is as one simple noun phrase of 1 to 4 words "
    '(for example "news aggregator", "functional programming language", '
    '"data workflow orchestration").\n\n'
)

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


def string_list_validate(value: Any, key: str, *, low: int, high: int) -> list[str]:
    items = value.get(key) if isinstance(value, dict) else value
    if not isinstance(items, list):
        raise ValueError("not_array")
    if not all(isinstance(i, str) and i.strip() for i in items):
        raise ValueError("invalid_array_elements")
    out = list(dict.fromkeys(i.strip() for i in items))
    if not low <= len(out) <= high:
        raise ValueError("array_length_out_of_range")
    return out


def emphasis_heuristic(repo: Repo, blurb: str) -> list[str]:
    found = [t for t in KNOWN_TECH if t.lower() in blurb.lower()]
    if repo.language and repo.language not in found:
        found.insert(0, repo.language)
    return found[:6] or ["Software"]


def keywords_heuristic(repo: Repo) -> list[str]:
    topics = [t.replace("-", " ") for t in (repo.topics or [])]
    return topics[:4] or ["software design"]


def kind_heuristic(repo: Repo, blurb: str) -> str:
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


def kind_validate(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else value
    if not isinstance(kind, str) or not kind.strip():
        raise ValueError("expected a kind string")
    words = kind.strip().rstrip(".").split()
    # A kind is 1-4 words: empty text or a sentence is no kind.
    if not 1 <= len(words) <= 4:
        raise ValueError("kind must be 1-4 words")
    return " ".join(words)[:80]


def homepage_link(homepage: str | None) -> str | None:
    """The repo link: `//x` → `https://x`, http(s) kept, a bare host gets https://;
    a value with white space in it is no link."""
    value = (homepage or "").strip()
    if not value or any(ch.isspace() for ch in value):
        return None
    if value.startswith("//"):
        value = "https:" + value
    elif not value.lower().startswith(("http://", "https://")):
        value = "https://" + value
    return value[:500]
