"""File paths classified as GitHub Linguist classifies them, from Linguist's own data.

The data is Linguist's (`activity/linguist_data/`, its version in `VERSION.json` and
in `manage.py linguist --data-version`): `languages.yml` (as JSON), `vendor.yml`,
`documentation.yml`, `heuristics.yml` and the path rules of `generated.rb`. Only paths
are known here (activity clones are blobless), so the rules that need a file's
contents do not apply: a path is matched by exact file name, then by its longest
known extension (Linguist's order); an ambiguous path (`.h`, `.m`, `.rs`, `.pl`, ...)
is resolved with the repository's own languages (candidates ∩ the repo's languages;
of several, the one with the most bytes), else by the heuristic Linguist falls back to
on a file without telling content (`.md` → Markdown, `.ts` → TypeScript), else it has
no language.

Counted, as GitHub's language bar counts: a language of type programming or markup
on a path that is neither vendored, documentation nor generated.
"""

from __future__ import annotations

import functools
import json
import posixpath
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

COUNTED_TYPES = frozenset({"programming", "markup"})
DATA_DIR = Path(__file__).resolve().parent / "linguist_data"


@dataclass(frozen=True)
class Classification:
    path: str
    language: str | None
    type: str | None
    vendored: bool
    documentation: bool
    generated: bool
    counted: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ruby_regex(pattern: str) -> str:
    """Linguist's patterns are Ruby regexes: the few spellings Python reads otherwise."""
    return pattern.replace(r"\h", "[0-9a-fA-F]").replace(r"\z", r"\Z")


class _Rules:
    """A list of path regexes; a path matches when any does. Kept apart rather than
    joined into one alternation, which Python's engine searches ten times slower."""

    def __init__(self, patterns: Iterable[str]):
        compiled = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            for pattern in patterns:
                try:
                    compiled.append(re.compile(_ruby_regex(pattern)))
                except re.error:
                    continue  # a Ruby-only construct: that one rule is not applied
        self.searches = tuple(r.search for r in compiled)

    def matches(self, path: str) -> bool:
        return any(search(path) is not None for search in self.searches)


@dataclass(frozen=True)
class LinguistData:
    version: dict[str, str]
    types: dict[str, str]
    by_filename: dict[str, tuple[str, ...]]
    by_extension: dict[str, tuple[str, ...]]
    heuristics: dict[str, tuple[dict, ...]]  # extension -> rules, in Linguist's order
    named_patterns: dict[str, Any]
    vendored: _Rules
    documentation: _Rules
    generated: _Rules


@functools.cache
def linguist_data() -> LinguistData:
    """Linguist's data, read once per process."""
    languages = json.loads((DATA_DIR / "languages.json").read_text(encoding="utf-8"))
    by_filename: dict[str, list[str]] = {}
    by_extension: dict[str, list[str]] = {}
    types: dict[str, str] = {}
    for name, spec in languages.items():
        types[name] = spec.get("type") or ""
        for filename in spec.get("filenames") or ():
            by_filename.setdefault(filename, []).append(name)
        for ext in spec.get("extensions") or ():
            by_extension.setdefault(ext.lower(), []).append(name)
    heuristics_doc = yaml.safe_load((DATA_DIR / "heuristics.yml").read_text(encoding="utf-8"))
    heuristics: dict[str, list[dict]] = {}
    for entry in heuristics_doc.get("disambiguations") or ():
        for ext in entry.get("extensions") or ():
            heuristics.setdefault(ext.lower(), []).extend(entry.get("rules") or ())

    def rules(name: str) -> _Rules:
        return _Rules(yaml.safe_load((DATA_DIR / name).read_text(encoding="utf-8")) or ())

    return LinguistData(
        version=json.loads((DATA_DIR / "VERSION.json").read_text(encoding="utf-8")),
        types=types,
        by_filename={k: tuple(sorted(v)) for k, v in by_filename.items()},
        by_extension={k: tuple(sorted(v)) for k, v in by_extension.items()},
        heuristics={k: tuple(v) for k, v in heuristics.items()},
        named_patterns=heuristics_doc.get("named_patterns") or {},
        vendored=rules("vendor.yml"),
        documentation=rules("documentation.yml"),
        generated=rules("generated.yml"),
    )


def data_version() -> dict[str, str]:
    """Which Linguist the data is from (`manage.py linguist --data-version`)."""
    return dict(linguist_data().version)


def _extensions(basename: str) -> list[str]:
    """`a.tar.gz` → [".tar.gz", ".gz"]: Linguist tries the longest first."""
    segments = basename.lower().split(".")[1:]
    return ["." + ".".join(segments[i:]) for i in range(len(segments))]


@functools.lru_cache(maxsize=65536)
def _candidates(basename: str) -> tuple[str, ...]:
    """Linguist's candidates for a file name: by exact file name, else by extension."""
    data = linguist_data()
    found = data.by_filename.get(basename)
    if found:
        return found
    for ext in _extensions(basename):
        found = data.by_extension.get(ext)
        if found:
            return found
    return ()


def _matches_empty(condition: Any) -> bool:
    """Whether a heuristic pattern (a string or a list of alternatives) finds anything
    in empty content."""
    patterns = condition if isinstance(condition, list) else [condition]
    with warnings.catch_warnings():
        # Ruby's `[[` in a class reads as a possible set operation to Python: harmless.
        warnings.simplefilter("ignore", FutureWarning)
        try:
            return any(
                re.search(_ruby_regex(str(p)), "", re.MULTILINE) is not None for p in patterns
            )
        except re.error:
            return False


def _rule_fires_on_empty(rule: Mapping[str, Any], named: Mapping[str, Any]) -> bool:
    if "and" in rule:
        return all(_rule_fires_on_empty(part, named) for part in rule["and"] or ())
    if "pattern" in rule:
        return _matches_empty(rule["pattern"])
    if "named_pattern" in rule:
        return _matches_empty(named.get(rule["named_pattern"], "(?!)"))
    if "negative_pattern" in rule:
        return not _matches_empty(rule["negative_pattern"])
    return True  # a rule without conditions: Linguist's default for the extension


@functools.lru_cache(maxsize=65536)
def _heuristic_default(basename: str, candidates: tuple[str, ...]) -> tuple[str, ...]:
    """The languages Linguist's heuristics give a file whose content tells nothing."""
    data = linguist_data()
    for ext in _extensions(basename):
        rules = data.heuristics.get(ext)
        if not rules:
            continue
        for rule in rules:
            if _rule_fires_on_empty(rule, data.named_patterns):
                named = rule.get("language")
                names = named if isinstance(named, list) else [named]
                return tuple(n for n in names if n in candidates)
        return ()
    return ()


def language_type(language: str) -> str | None:
    return linguist_data().types.get(language) or None


def is_vendored(path: str) -> bool:
    return linguist_data().vendored.matches(path)


def is_documentation(path: str) -> bool:
    return linguist_data().documentation.matches(path)


def is_generated(path: str) -> bool:
    return linguist_data().generated.matches(path)


class Classifier:
    """Classifies paths of one repository (whose languages resolve ambiguity)."""

    def __init__(self, repo_languages: Mapping[str, int] | Iterable[str] | None = None):
        if repo_languages is None:
            self.repo_languages: dict[str, int] = {}
        elif isinstance(repo_languages, Mapping):
            self.repo_languages = {str(k): int(v or 0) for k, v in repo_languages.items()}
        else:
            # A bare list (the command's --repo-languages): earlier names rank higher.
            names = [str(n) for n in repo_languages if str(n)]
            self.repo_languages = {n: len(names) - i for i, n in enumerate(names)}

    def language(self, path: str) -> str | None:
        basename = posixpath.basename(path)
        if not basename:
            return None
        candidates = _candidates(basename)
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        known = [c for c in candidates if c in self.repo_languages]
        if known:
            return max(known, key=lambda name: (self.repo_languages[name], name))
        default = _heuristic_default(basename, candidates)
        return default[0] if len(default) == 1 else None

    def classify(self, path: str) -> Classification:
        language = self.language(path)
        kind = language_type(language) if language else None
        vendored = is_vendored(path)
        documentation = is_documentation(path)
        generated = is_generated(path)
        counted = kind in COUNTED_TYPES and not vendored and not documentation and not generated
        return Classification(
            path=path,
            language=language,
            type=kind,
            vendored=vendored,
            documentation=documentation,
            generated=generated,
            counted=counted,
        )

    def counted_language(self, path: str) -> str | None:
        """The language this path adds to a day, or None (the hot path of activity)."""
        found = self.classify(path)
        return found.language if found.counted else None

    def languages_of(self, paths: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for path in paths:
            language = self.counted_language(path)
            if language:
                out.add(language)
        return out
