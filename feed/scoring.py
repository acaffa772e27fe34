"""Stage 1 of the feed: a cheap score for every candidate, no LLM.

Pure functions over plain values (no queries), so a rebuild scores ten thousand
candidates in milliseconds and tests can check each signal alone. Every signal is a
value in 0..1; the score is the sum of signal × its weight (settings `FEED_WEIGHT_*`),
and `reasons` names the signals that contributed, strongest first.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings

_WORD = re.compile(r"[a-z0-9][a-z0-9+#.-]{2,}")
_STOP_WORDS = """
the and for with that this from into your you are was were has have had not but all any
can its our out use using used via per one two new more most also than then them they
their there these those what when where which while who why how about over under open
source project projects tool tools library based simple small fast written code
"""
_STOP = frozenset(_STOP_WORDS.split())

# Signal name → settings attribute of its weight.
WEIGHTS = {
    "language": "FEED_WEIGHT_LANGUAGE",
    "keywords": "FEED_WEIGHT_KEYWORDS",
    "emphasis": "FEED_WEIGHT_EMPHASIS",
    "kind": "FEED_WEIGHT_KIND",
    "theme": "FEED_WEIGHT_THEME",
    "recency": "FEED_WEIGHT_RECENCY",
    "starred_by_kindred": "FEED_WEIGHT_STARRED_BY_KINDRED",
    "stargazer_overlap": "FEED_WEIGHT_STARGAZER_OVERLAP",
    "author_starred_by_kindred": "FEED_WEIGHT_AUTHOR_STARRED_BY_KINDRED",
}

# Each reason an item may carry (a signal above, or `llm`: the judgment included it), as a
# person reads it on the pages.
REASON_LABELS = {
    "llm": "judged a match for this profile",
    "language": "in the languages of this profile's highlights",
    "keywords": "shares skills with this profile",
    "emphasis": "uses technologies this profile uses",
    "kind": "the kind of project this profile builds",
    "theme": "fits this profile's theme",
    "recency": "recently active",
    "starred_by_kindred": "starred by kindred developers",
    "stargazer_overlap": "its stargazers star what this profile stars",
    "author_starred_by_kindred": "its author's work is starred by kindred developers",
}


def weights() -> dict[str, float]:
    return {name: float(getattr(settings, attr)) for name, attr in WEIGHTS.items()}


def tokens(*texts: str) -> set[str]:
    words: set[str] = set()
    for text in texts:
        for word in _WORD.findall((text or "").lower()):
            word = word.strip(".-")
            if len(word) >= 3 and word not in _STOP:
                words.add(word)
    return words


def _lower_set(values: Any) -> set[str]:
    if not isinstance(values, list | tuple):
        return set()
    return {str(v).strip().lower() for v in values if str(v).strip()}


@dataclass
class ViewerProfile:
    """What stage 1 compares candidates with: the viewer's highlights and theme."""

    languages: dict[str, float] = field(default_factory=dict)  # language → share / max share
    keywords: set[str] = field(default_factory=set)
    emphasis: set[str] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)
    theme: set[str] = field(default_factory=set)

    @classmethod
    def from_repos(cls, repos: list[dict[str, Any]], *, theme: str) -> ViewerProfile:
        langs = Counter((r.get("language") or "").lower() for r in repos if r.get("language"))
        top = max(langs.values(), default=0)
        profile = cls(
            languages={lang: n / top for lang, n in langs.items()} if top else {},
            theme=tokens(theme),
        )
        for repo in repos:
            profile.keywords |= _lower_set(repo.get("keywords"))
            profile.emphasis |= _lower_set(repo.get("emphasis"))
            if repo.get("kind"):
                profile.kinds.add(str(repo["kind"]).strip().lower())
        return profile


@dataclass
class Candidate:
    repo_id: int
    author_id: int
    author_login: str
    owner: str
    language: str
    keywords: set[str]
    emphasis: set[str]
    kind: str
    words: set[str]
    pushed_at: datetime | None
    # What the judgment prompt shows of the candidate.
    full_name: str = ""
    description: str = ""
    blurb: str = ""
    keyword_list: tuple[str, ...] = ()
    kind_label: str = ""
    language_label: str = ""


@dataclass
class Scored:
    candidate: Candidate
    score: float
    reasons: list[str]
    signals: dict[str, float]


def candidate_from_row(row: dict[str, Any]) -> Candidate:
    keywords = _lower_set(row.get("keywords"))
    return Candidate(
        repo_id=row["repo_id"],
        author_id=row["author_id"],
        author_login=row["author_login"],
        owner=(row.get("owner") or "").lower(),
        language=(row.get("language") or "").lower(),
        keywords=keywords,
        emphasis=_lower_set(row.get("emphasis")),
        kind=(row.get("kind") or "").strip().lower(),
        words=tokens(row.get("name") or "", row.get("description") or "", row.get("blurb") or "")
        | keywords,
        pushed_at=row.get("pushed_at"),
        full_name=row.get("full_name") or "",
        description=row.get("description") or "",
        blurb=row.get("blurb") or "",
        keyword_list=tuple(str(k) for k in (row.get("keywords") or []) if isinstance(k, str)),
        kind_label=row.get("kind") or "",
        language_label=row.get("language") or "",
    )


def _overlap(a: set[str], b: set[str]) -> float:
    """Overlap coefficient: shared / the smaller set (1 when one contains the other)."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def signals_of(
    profile: ViewerProfile, c: Candidate, star: dict[str, Any], *, now: datetime
) -> dict[str, float]:
    age_days = (now - c.pushed_at).total_seconds() / 86400 if c.pushed_at else None
    return {
        "language": profile.languages.get(c.language, 0.0) if c.language else 0.0,
        "keywords": _overlap(c.keywords, profile.keywords),
        "emphasis": _overlap(c.emphasis, profile.emphasis),
        "kind": 1.0 if c.kind and c.kind in profile.kinds else 0.0,
        "theme": len(profile.theme & c.words) / len(profile.theme) if profile.theme else 0.0,
        "recency": math.exp(-max(age_days, 0.0) / settings.FEED_RECENCY_DAYS)
        if age_days is not None
        else 0.0,
        "starred_by_kindred": star.get("repo_kindred", {}).get(c.repo_id, 0.0),
        "stargazer_overlap": star.get("repo_overlap", {}).get(c.repo_id, 0.0),
        "author_starred_by_kindred": max(
            star.get("owner_kindred", {}).get(c.author_login.lower(), 0.0),
            star.get("owner_kindred", {}).get(c.owner, 0.0) if c.owner else 0.0,
        ),
    }


def score_all(
    profile: ViewerProfile,
    candidates: list[Candidate],
    star: dict[str, Any],
    *,
    now: datetime,
    weight: dict[str, float] | None = None,
) -> list[Scored]:
    """Every candidate scored, best first (ties: most recent push, then repo id)."""
    weight = weight or weights()
    out: list[Scored] = []
    for c in candidates:
        signals = signals_of(profile, c, star, now=now)
        parts = {name: signals[name] * weight.get(name, 0.0) for name in signals}
        score = sum(parts.values())
        reasons = [
            name
            for name, part in sorted(parts.items(), key=lambda kv: (-kv[1], kv[0]))
            if part > 0 and name != "recency"
        ]
        if not reasons and parts.get("recency", 0) > 0:
            reasons = ["recency"]
        out.append(Scored(candidate=c, score=score, reasons=reasons, signals=signals))
    out.sort(
        key=lambda s: (
            -s.score,
            -(s.candidate.pushed_at.timestamp() if s.candidate.pushed_at else 0.0),
            s.candidate.repo_id,
        )
    )
    return out
