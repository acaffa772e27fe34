"""File paths classified as GitHub Linguist classifies them, from Linguist's own data.

The data is go-enry's (`enry-python`, which bundles go-enry built from Linguist's
`languages.yml`, `vendor.yml`, `documentation.yml`, `heuristics.yml` and the
path rules of `generated.rb`). Only paths are known here (activity clones are
blobless), so the rules that need a file's contents do not apply: a path is matched
by file name, then by extension; an ambiguous path (`.h`, `.m`, `.rs`, `.pl`, ...)
is resolved with the repository's own `/languages` (candidates ∩ the repo's
languages; of several, the one with the most bytes), else by Linguist's
content-free heuristic default (`.md` → Markdown, `.ts` → TypeScript), else it has
no language.

Counted, as GitHub's language bar counts: a language of type programming or markup
on a path that is neither vendored, documentation nor generated.
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

COUNTED_TYPES = frozenset({"programming", "markup"})


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


@functools.cache
def _enry():
    """go-enry, loaded on first use.

    Kept out of module import on purpose: loading the library starts a Go runtime,
    and a Go runtime does not survive `fork()`. Celery's prefork parent imports the
    apps and forks its children; each child loads go-enry itself when it first
    classifies a path.
    """
    import enry
    from enry._c_enry import ffi
    from enry.definitions import lib
    from enry.utils import go_str_slice_to_py, prepare_candidates

    def strings(result) -> list[str]:
        return go_str_slice_to_py(lib, result)

    def by_extension(path: str) -> list[str]:
        return strings(lib.GetLanguagesByExtension(path.encode(), b"", 0, ffi.NULL))

    def heuristic_default(path: str, candidates: list[str]) -> list[str]:
        # Linguist's heuristics on empty content: only a rule without a pattern fires.
        c_list, _keep = prepare_candidates(candidates)
        return strings(lib.GetLanguagesByContent(path.encode(), b"", 0, c_list))

    return {
        "by_filename": lambda path: enry.get_languages_by_filename(path),
        "by_extension": by_extension,
        "heuristic_default": heuristic_default,
        "type": enry.get_language_type,
        "vendored": enry.is_vendor,
        "documentation": enry.is_documentation,
        "generated": lambda path: enry.is_generated(path, b""),
    }


@functools.lru_cache(maxsize=65536)
def _candidates(basename: str) -> tuple[str, ...]:
    """Linguist's candidates for a file name: by exact file name, else by extension."""
    lib = _enry()
    return tuple(lib["by_filename"](basename) or lib["by_extension"](basename))


@functools.lru_cache(maxsize=4096)
def language_type(language: str) -> str | None:
    found = _enry()["type"](language)
    return found if found and found != "unknown" else None


@functools.lru_cache(maxsize=65536)
def _heuristic_default(basename: str, candidates: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_enry()["heuristic_default"](basename, list(candidates)))


class Classifier:
    """Classifies paths of one repository (whose `/languages` resolve ambiguity)."""

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
        lib = _enry()
        language = self.language(path)
        kind = language_type(language) if language else None
        vendored = bool(lib["vendored"](path))
        documentation = bool(lib["documentation"](path))
        generated = bool(lib["generated"](path))
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
