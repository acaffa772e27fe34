"""README media: find the images a README shows and resolve their sources to URLs.

Pure functions (no HTTP, no database), so they are cheap to test on their own. The
markdown is parsed with mistune's AST; raw HTML blocks and inline HTML (which mistune
passes through untouched) are scanned for `<img>` tags with the stdlib HTML parser.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

import mistune

BADGE_MARKERS = ("shields.io", "badge", "travis-ci.org", "circleci.com")
VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".avi")
MIN_WIDTH = 400
MIN_ASPECT = 0.3
MAX_ASPECT = 4.0
MAX_URL_LENGTH = 2000  # GalleryImage.url's column size
MAX_ALT_LENGTH = 500

_markdown_ast = mistune.create_markdown(renderer=None, plugins=["table", "strikethrough"])


@dataclass(frozen=True)
class ReadmeImage:
    """One `<img>`/`![]()` of a README, in document order."""

    src: str  # as written in the README (stored as original_url)
    alt: str


class _ImgCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[ReadmeImage] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "img":
            return
        values = {name: (value or "") for name, value in attrs}
        src = values.get("src", "").strip()
        if src:
            self.images.append(ReadmeImage(src=src, alt=values.get("alt", "").strip()))

    handle_startendtag = handle_starttag


def _html_images(raw: str) -> list[ReadmeImage]:
    collector = _ImgCollector()
    collector.feed(raw)
    collector.close()
    return collector.images


def _plain_text(tokens: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for token in tokens:
        if "raw" in token and token.get("type") in ("text", "codespan"):
            parts.append(token["raw"])
        elif token.get("children"):
            parts.append(_plain_text(token["children"]))
    return "".join(parts)


def _walk(tokens: list[dict[str, Any]], out: list[ReadmeImage]) -> None:
    for token in tokens:
        kind = token.get("type")
        if kind == "image":
            src = (token.get("attrs") or {}).get("url", "").strip()
            if src:
                out.append(ReadmeImage(src=src, alt=_plain_text(token.get("children") or [])))
            continue
        if kind in ("block_html", "inline_html"):
            out.extend(_html_images(token.get("raw", "")))
            continue
        if token.get("children"):
            _walk(token["children"], out)


def readme_images_find(markdown: str) -> list[ReadmeImage]:
    """Every image the README shows (markdown images and HTML `<img>` tags), in order."""
    tokens = _markdown_ast(markdown or "")
    images: list[ReadmeImage] = []
    _walk(tokens if isinstance(tokens, list) else [], images)
    return images


def readme_src_resolve(
    src: str,
    *,
    web_url: str,
    full_name: str,
    branch: str,
    readme_dir: str = "",
) -> str | None:
    """The absolute http(s) URL a README image source points at, or None if it has none.

    Relative sources resolve like a browser would (urljoin semantics against the
    README's directory, `/x` from the repository root, `..` clamped at the root) and
    then point at the raw file on the default branch. Stripping leading `.` and `/`
    characters instead would turn `../a.png` into `a.png` (right only at the root) and
    break READMEs in subdirectories and paths like `.github/x.png`.
    """
    src = src.strip()
    if not src or src.startswith("#"):
        return None
    if src.startswith("//"):
        src = "https:" + src
    parts = urlsplit(src)
    if parts.scheme:
        if parts.scheme.lower() in ("http", "https") and parts.netloc:
            return src
        return None  # data:, mailto:, javascript:, ... are not images we can keep
    if parts.path.startswith("/"):
        joined = parts.path
    else:
        joined = posixpath.join("/", readme_dir.strip("/"), parts.path)
    # normpath collapses `.` and `..`; on an absolute path it cannot climb above "/".
    path = posixpath.normpath(joined).lstrip("/")
    if parts.path.endswith("/") or not path or path == ".":
        return None
    suffix = f"?{parts.query}" if parts.query else ""
    # READMEs write paths with spaces or non-ASCII; existing %-escapes are kept as is.
    path = quote(path, safe="/%:@!$&'()*+,;=-._~")
    return f"{web_url.rstrip('/')}/{full_name}/raw/{branch}/{path}{suffix}"


def is_badge(url: str) -> bool:
    low = url.lower()
    return any(marker in low for marker in BADGE_MARKERS)


def is_video(url: str) -> bool:
    return urlsplit(url.lower()).path.endswith(VIDEO_SUFFIXES)


def size_fits(width: int | None, height: int | None) -> str | None:
    """None when the size makes a gallery image; else why not ("too_small"/"aspect")."""
    if not width or not height or width < MIN_WIDTH:
        return "too_small"
    if not MIN_ASPECT <= width / height <= MAX_ASPECT:
        return "aspect"
    return None
