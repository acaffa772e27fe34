"""README documents and the truth about the images they reference."""

from __future__ import annotations

from functools import lru_cache

# (how it is written, src, stored path in the repo or None, width, height, kind)
# kind: image | badge | video | broken | absolute
RICH = [
    ("md", "./docs/screenshot.png", "docs/screenshot.png", 1280, 800, "image"),
    ("md", "/img/architecture.png", "img/architecture.png", 1600, 900, "image"),
    ("md", "../shots/demo.png", "shots/demo.png", 900, 1200, "image"),
    ("md", "docs/ui.png", "docs/ui.png", 1024, 768, "image"),
    ("md", "{web}/_img/1200x630.png", None, 1200, 630, "absolute"),
    ("html", "docs/wide-banner.png", "docs/wide-banner.png", 2400, 400, "image"),
    ("html", "./docs/tall.png", "docs/tall.png", 400, 1600, "image"),
    ("md", "docs/icon.png", "docs/icon.png", 128, 128, "image"),
    ("md", "https://img.shields.io/badge/build-passing-brightgreen.svg", None, 90, 20, "badge"),
    ("md", "{web}/{full}/actions/workflows/ci.yml/badge.svg", None, 90, 20, "badge"),
    ("md", "docs/demo.mp4", "docs/demo.mp4", 1280, 720, "video"),
    ("html", "{web}/_img/800x600.webm", None, 800, 600, "video"),
    ("md", "docs/missing.png", None, 1000, 700, "broken"),
    ("md", "docs/edge-400.png", "docs/edge-400.png", 400, 300, "image"),
    ("html", "{web}/_img/1600x400.png", None, 1600, 400, "absolute"),
    ("md", "{web}/_img/300x200.png", None, 300, 200, "absolute"),
]
IMAGES = [
    ("md", "./assets/preview.png", "assets/preview.png", 1440, 900, "image"),
    ("md", "assets/thumb.png", "assets/thumb.png", 320, 240, "image"),
    ("md", "{web}/_img/1000x1000.png", None, 1000, 1000, "absolute"),
    ("md", "https://img.shields.io/badge/license-MIT-blue.svg", None, 80, 20, "badge"),
]
SIMPLE = [
    ("md", "https://img.shields.io/badge/status-stable-green.svg", None, 80, 20, "badge"),
]


def _entries(repo) -> list[tuple]:
    style = repo.readme_style
    if style == "rich":
        return RICH
    if style == "images":
        return IMAGES
    if style == "simple":
        return SIMPLE
    return []


@lru_cache(maxsize=4096)
def _readme_cached(
    web: str, full: str, style: str, desc: str | None, lang: str | None, name: str, seed: int
):
    class R:
        pass

    r = R()
    r.readme_style = style
    entries = _entries(r)
    lines = [f"# {name}", ""]
    if desc:
        lines += [desc, ""]
    images: dict[str, tuple[int, int]] = {}
    for i, (how, src, stored, w, h, kind) in enumerate(entries):
        s = src.format(web=web, full=full)
        alt = f"{kind} {i}"
        if how == "md":
            lines.append(f"![{alt}]({s})")
        else:
            lines.append(f'<img src="{s}" alt="{alt}" width="{min(w, 600)}">')
        lines.append("")
        if stored and kind in ("image",):
            images[stored] = (w, h)
        if stored and kind == "video":
            images.setdefault("__video__" + stored, (w, h))
    lines += [
        "## Installation",
        "",
        "```sh",
        f"git clone {web}/{full}.git",
        "```",
        "",
        "## Usage",
        "",
        f"This project is written in {lang or 'plain text'}. See `docs/guide.md` for details.",
        "",
    ]
    imgs = {k: v for k, v in images.items() if not k.startswith("__video__")}
    videos = [k[len("__video__") :] for k in images if k.startswith("__video__")]
    return ("\n".join(lines)).encode(), imgs, tuple(videos)


def readme_for(world, repo) -> tuple[bytes | None, dict[str, tuple[int, int]]]:
    if not repo.has_readme or repo.readme_style == "none":
        return None, {}
    body, imgs, videos = _readme_cached(
        world.web_url,
        repo.full_name,
        repo.readme_style,
        repo.description,
        repo.language,
        repo.name,
        world.seed,
    )
    out = dict(imgs)
    for v in videos:
        out.setdefault(v, (0, 0))
    return body, out


def readme_images_truth(world, repo, web_url: str | None = None) -> list[dict]:
    """Every image in the README, resolved like Gazer does, and whether it should be kept."""
    if not repo.has_readme or repo.readme_style == "none":
        return []
    web = (web_url or world.web_url).rstrip("/")
    target = repo
    if repo.fork and repo.parent:
        parent = world.get_repo_by_full_name(repo.parent)
        if parent is not None:
            target = parent
    out = []
    for i, (how, src, _stored, w, h, kind) in enumerate(_entries(target)):
        s = src.format(web=world.web_url, full=target.full_name)
        if s.startswith(("http://", "https://")):
            resolved = s.replace(world.web_url, web, 1) if s.startswith(world.web_url) else s
        else:
            resolved = f"{web}/{repo.full_name}/raw/{repo.default_branch}/{s.lstrip('./')}"
        low = resolved.lower()
        is_badge = any(x in low for x in ("shields.io", "badge", "travis-ci.org", "circleci.com"))
        is_video = low.endswith((".mp4", ".webm", ".mov", ".avi"))
        reachable = kind in ("image", "absolute")
        keep = (
            not is_badge
            and not is_video
            and reachable
            and w >= 400
            and h > 0
            and 0.3 <= w / h <= 4.0
        )
        reason = None
        if is_badge:
            reason = "badge"
        elif is_video:
            reason = "video"
        elif not reachable:
            reason = "unreachable"
        elif w < 400:
            reason = "too_small"
        elif not 0.3 <= w / h <= 4.0:
            reason = "aspect"
        out.append(
            {
                "index": i,
                "markup": how,
                "src": s,
                "alt": f"{kind} {i}",
                "resolved_url": resolved,
                "width": w if reachable else None,
                "height": h if reachable else None,
                "kind": kind,
                "reachable": reachable,
                "keep": keep,
                "drop_reason": reason,
            }
        )
    return out
