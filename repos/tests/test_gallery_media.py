"""README parsing and source resolution (pure functions)."""

import pytest

from repos import media

WEB = "https://github.example"


def resolve(src: str, readme_dir: str = "") -> str | None:
    return media.readme_src_resolve(
        src, web_url=WEB, full_name="octo/cat", branch="dev", readme_dir=readme_dir
    )


def test_readme_images_find_markdown_and_inline_html_in_order():
    markdown = """# Title

![Shot *one*](./docs/a.png "t")

<p align="center"><img src="docs/b.png" alt="B &amp; C" width="600"/></p>

Some text <img src='../c.png'> and [![badge](https://img.shields.io/x.svg)](https://ci)

![ref][r]

```html
<img src="in-code.png">
```

[r]: img/d.png
"""
    found = media.readme_images_find(markdown)
    assert [(i.src, i.alt) for i in found] == [
        ("./docs/a.png", "Shot one"),
        ("docs/b.png", "B & C"),
        ("../c.png", ""),
        ("https://img.shields.io/x.svg", "badge"),
        ("img/d.png", "ref"),
    ]


def test_readme_images_find_empty_readme_finds_nothing():
    assert media.readme_images_find("") == []
    assert media.readme_images_find("# only text\n\nno images") == []


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("docs/a.png", f"{WEB}/octo/cat/raw/dev/docs/a.png"),
        ("./docs/a.png", f"{WEB}/octo/cat/raw/dev/docs/a.png"),
        ("/img/a.png", f"{WEB}/octo/cat/raw/dev/img/a.png"),
        ("../shots/a.png", f"{WEB}/octo/cat/raw/dev/shots/a.png"),
        ("docs/../x/./a.png", f"{WEB}/octo/cat/raw/dev/x/a.png"),
        (".github/a.png", f"{WEB}/octo/cat/raw/dev/.github/a.png"),
        ("a.png?raw=true", f"{WEB}/octo/cat/raw/dev/a.png?raw=true"),
        ("docs/my shot.png", f"{WEB}/octo/cat/raw/dev/docs/my%20shot.png"),
        ("docs/my%20shot.png", f"{WEB}/octo/cat/raw/dev/docs/my%20shot.png"),
        ("docs/é.png", f"{WEB}/octo/cat/raw/dev/docs/%C3%A9.png"),
        ("https://cdn.example/a.png", "https://cdn.example/a.png"),
        ("HTTP://cdn.example/a.png", "HTTP://cdn.example/a.png"),
        ("//cdn.example/a.png", "https://cdn.example/a.png"),
        ("data:image/png;base64,AAAA", None),
        ("javascript:alert(1)", None),
        ("#anchor", None),
        ("", None),
        ("docs/", None),
    ],
)
def test_readme_src_resolve_at_root(src, expected):
    assert resolve(src) == expected


def test_readme_src_resolve_relative_to_readme_directory_clamped_at_root():
    assert resolve("a.png", "docs/guide") == f"{WEB}/octo/cat/raw/dev/docs/guide/a.png"
    assert resolve("../a.png", "docs/guide") == f"{WEB}/octo/cat/raw/dev/docs/a.png"
    assert resolve("../../../../a.png", "docs/guide") == f"{WEB}/octo/cat/raw/dev/a.png"
    assert resolve("/a.png", "docs/guide") == f"{WEB}/octo/cat/raw/dev/a.png"


@pytest.mark.parametrize(
    ("url", "badge", "video"),
    [
        ("https://img.shields.io/badge/x.svg", True, False),
        ("https://example.com/o/r/actions/workflows/ci.yml/badge.svg", True, False),
        ("https://travis-ci.org/o/r.svg", True, False),
        ("https://circleci.com/gh/o/r.svg", True, False),
        ("https://example.com/demo.MP4", False, True),
        ("https://example.com/demo.webm?x=1", False, True),
        ("https://example.com/a.mov", False, True),
        ("https://example.com/a.avi", False, True),
        ("https://example.com/a.png", False, False),
    ],
)
def test_badges_and_videos_are_recognised(url, badge, video):
    assert media.is_badge(url) is badge
    assert media.is_video(url) is video


@pytest.mark.parametrize(
    ("width", "height", "verdict"),
    [
        (400, 300, None),
        (1600, 400, None),
        (399, 300, "too_small"),
        (2400, 400, "aspect"),
        (400, 1600, "aspect"),
        (900, 3000, None),
        (0, 0, "too_small"),
    ],
)
def test_size_fits(width, height, verdict):
    assert media.size_fits(width, height) == verdict
