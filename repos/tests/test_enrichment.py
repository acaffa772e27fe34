"""The enrichment's pure parts: links, answer checks, heuristics, prompts, key files."""

from pathlib import Path

import pytest

from repos import enrichment
from repos.models import Repo


@pytest.mark.parametrize(
    ("homepage", "link"),
    [
        ("", None),
        (None, None),
        ("   ", None),
        ("//example.com", "https://example.com"),
        ("http://example.com", "http://example.com"),
        ("HTTPS://Example.com/a", "HTTPS://Example.com/a"),
        ("example.com/x", "https://example.com/x"),
        (" example.com ", "https://example.com"),
        ("not a link", None),
    ],
)
def test_homepage_link(homepage, link):
    assert enrichment.homepage_link(homepage) == link


def test_homepage_link_is_cut_to_the_column_size():
    assert len(enrichment.homepage_link("x" * 600)) == 500


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ({"kind": "news aggregator"}, "news aggregator"),
        ("static site generator.", "static site generator"),
        ({"kind": "one two three four five"}, None),
        ({"kind": ""}, None),
        (42, None),
    ],
)
def test_kind_validate(value, ok):
    if ok is None:
        with pytest.raises(ValueError):
            enrichment.kind_validate(value)
    else:
        assert enrichment.kind_validate(value) == ok


def test_string_list_validate_dedupes_and_bounds():
    assert enrichment.string_list_validate(
        {"keywords": ["a", " a", "b"]}, "keywords", low=1, high=4
    ) == ["a", "b"]
    with pytest.raises(ValueError, match="array_length_out_of_range"):
        enrichment.string_list_validate({"keywords": []}, "keywords", low=1, high=4)
    with pytest.raises(ValueError, match="not_array"):
        enrichment.string_list_validate({"keywords": "a"}, "keywords", low=1, high=4)


def test_highlights_validate_needs_one_to_five_names():
    value = enrichment.highlights_validate({"theme": " tools ", "repos": ["a", "b"]})
    assert value == {"theme": "tools", "repos": ["a", "b"]}
    with pytest.raises(ValueError):
        enrichment.highlights_validate({"repos": []})


def test_heuristics_without_an_llm():
    repo = Repo(name="tiny", full_name="o/tiny", language="Rust", topics=["command-line"])
    assert enrichment.theme_heuristic([repo]) == "Rust command line"
    assert enrichment.keywords_heuristic(repo) == ["command line"]
    assert enrichment.emphasis_heuristic(repo, "Built with Docker and Tokio.")[:2] == [
        "Rust",
        "Docker",
    ]
    assert enrichment.kind_heuristic(repo, "a small library") == "software library"


def test_key_files_come_root_priority_files_first_then_priority_dirs(tmp_path: Path):
    (tmp_path / "src" / "deep").mkdir(parents=True)
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "README.md").write_text("# tiny\n\nA tiny tool.\n")
    (tmp_path / "Cargo.toml").write_text("[package]\n")
    (tmp_path / "src" / "main.rs").write_text("fn main() {}\n")
    (tmp_path / "src" / "deep" / "x.rs").write_text("\n")
    (tmp_path / "src" / "logo.png").write_bytes(b"\x89PNG")
    picked = [p.relative_to(tmp_path).as_posix() for p in enrichment.context_files(tmp_path)]
    assert picked == ["README.md", "Cargo.toml", "src/main.rs", "src/deep/x.rs"]
    repo = Repo(name="tiny", full_name="o/tiny", language="Rust", description="")
    prompt, files = enrichment.blurb_prompt(repo, tmp_path)
    assert files == 4 and "### src/main.rs" in prompt
    assert enrichment.blurb_heuristic(repo, tmp_path) == "tiny is a Rust project. A tiny tool."
