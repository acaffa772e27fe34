"""Linguist classification (Linguist's own data) and the `linguist` command."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from activity.linguist import Classifier, data_version, linguist_data

SAMPLES = Path(__file__).resolve().parent / "data" / "linguist_samples.tsv"


def _run(*args: str, stdin: str | None = None, monkeypatch=None) -> list[dict]:
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command("linguist", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize(
    ("path", "language", "counted"),
    [
        ("src/app.py", "Python", True),
        ("web/index.html", "HTML", True),  # markup counts
        ("web/site.css", "CSS", True),
        ("Makefile", "Makefile", True),  # by file name
        ("Dockerfile", "Dockerfile", True),
        ("config/settings.yml", "YAML", False),  # data
        ("package.json", "JSON", False),
        ("notes.md", "Markdown", False),  # prose
        ("assets/logo.png", None, False),
    ],
)
def test_classify_types_counted_only_programming_and_markup(path, language, counted):
    found = Classifier().classify(path)
    assert (found.language, found.counted) == (language, counted)


@pytest.mark.parametrize(
    ("path", "flag"),
    [
        ("vendor/github.com/acme/util.go", "vendored"),
        ("node_modules/left-pad/index.js", "vendored"),
        ("third_party/helper.c", "vendored"),
        ("static/jquery.min.js", "vendored"),
        ("docs/conf.py", "documentation"),
        ("examples/demo.py", "documentation"),
        ("src/__generated__/schema.ts", "generated"),
        ("Cargo.lock", "generated"),
    ],
)
def test_classify_vendored_documentation_generated_not_counted(path, flag):
    found = Classifier().classify(path)
    assert getattr(found, flag) is True
    assert found.counted is False


def test_classify_ambiguous_resolved_by_repo_languages():
    assert Classifier({"C++": 900, "Python": 10}).language("include/core.h") == "C++"
    assert Classifier({"Objective-C": 5}).language("Classes/View.m") == "Objective-C"
    assert Classifier({"MATLAB": 5}).language("solve.m") == "MATLAB"
    assert Classifier({"Rust": 100}).language("src/main.rs") == "Rust"
    assert Classifier({"Raku": 3, "Perl": 1}).language("bin/tool.pl") == "Raku"
    # Two candidates known to the repo: the one with more bytes.
    assert Classifier({"Perl": 10, "Prolog": 20}).language("x.pl") == "Prolog"


def test_classify_ambiguous_without_repo_languages_uses_heuristic_default_or_none():
    bare = Classifier()
    assert bare.language("src/index.ts") == "TypeScript"  # TypeScript vs XML
    assert bare.language("guide.md") == "Markdown"  # not GCC Machine Description
    assert bare.language("lib/x.h") == "C"
    assert bare.language("Classes/View.m") is None  # seven candidates, no default
    assert bare.classify("Classes/View.m").counted is False


def test_linguist_command_prints_one_object_per_path_in_order():
    out = io.StringIO()
    call_command("linguist", "--repo-languages", "C++,C", "lib/x.h", "README.md", stdout=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert rows == [
        {
            "path": "lib/x.h",
            "language": "C++",
            "type": "programming",
            "vendored": False,
            "documentation": False,
            "generated": False,
            "counted": True,
        },
        {
            "path": "README.md",
            "language": "Markdown",
            "type": "prose",
            "vendored": False,
            "documentation": True,
            "generated": False,
            "counted": False,
        },
    ]


def test_linguist_command_reads_tens_of_thousands_of_paths_from_stdin(monkeypatch):
    exts = ["py", "ts", "h", "go", "md", "json", "rs", "m", "js", "yml"]
    dirs = ["src", "vendor", "docs", "lib/deep/er", "node_modules/pkg", "app"]
    paths = [f"{dirs[i % 6]}/file_{i}.{exts[i % 10]}" for i in range(30000)]
    rows = _run("-", stdin="\n".join(paths) + "\n", monkeypatch=monkeypatch)
    assert [r["path"] for r in rows] == paths
    assert rows[0]["language"] == "Python" and rows[0]["counted"] is True
    assert rows[1]["vendored"] is True


def test_linguist_command_reports_the_data_version_at_least_linguist_9_5():
    out = io.StringIO()
    call_command("linguist", "--data-version", stdout=out)
    reported = json.loads(out.getvalue())
    assert reported == data_version()
    major, minor = (int(x) for x in reported["linguist"].split(".")[:2])
    assert (major, minor) >= (9, 5)


def test_data_has_languages_linguist_added_lately_and_their_current_names():
    types = linguist_data().types
    for name in ("MiniScript", "BAML", "Quint", "Tolk", "Aleo", "Rhai", "SIP", "Vim script"):
        assert types.get(name) == "programming", name
    assert "Vim Script" not in types  # renamed "Vim script"
    assert Classifier().language("game/tetris.ms") != "Vim script"
    assert Classifier().language("plugin/solarized.vim") == "Vim script"
    assert Classifier().language("contracts/Counter.tolk") == "Tolk"


def _sample_rows() -> list[tuple[str, str]]:
    """(language, file path) of Linguist's samples whose file name or extension the
    data registers for that language (Linguist's own test holds every sample of a
    release to that), so a sample of another release is not counted against this one."""
    data = linguist_data()
    by_lower = {name.lower(): name for name in data.types}
    rows = []
    for line in SAMPLES.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        _, folder, rest = line.split("/", 2)
        language = by_lower[folder.lower()]
        basename = rest.rsplit("/", 1)[-1]
        lowered = basename.lower()
        registered = language in data.by_filename.get(basename, ()) or any(
            language in data.by_extension.get(ext, ())
            for ext in (lowered[i:] for i, ch in enumerate(lowered) if ch == ".")
        )
        if registered:
            rows.append((language, rest))
    return rows


def test_linguist_samples_classified_right_with_the_repo_languages_hint():
    rows = _sample_rows()
    assert len(rows) >= 100
    per_language: dict[str, list[bool]] = {}
    wrong = []
    for language, path in rows:
        got = Classifier({language: 1000, "Shell": 10, "Markdown": 5}).language(path)
        per_language.setdefault(language, []).append(got == language)
        if got != language:
            wrong.append((path, language, got))
    right = sum(all(results) for results in per_language.values())
    assert len(per_language) >= 25
    assert right / len(per_language) >= 0.95, wrong
