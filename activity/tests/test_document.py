"""The document's invariants on random inputs (Hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from activity.services import document_build

START, END = date(2024, 12, 2), date(2026, 12, 2)
days = st.dates(min_value=START - timedelta(days=60), max_value=END + timedelta(days=5)).map(
    date.isoformat
)
languages = st.lists(st.sampled_from(["Python", "Go", "C", "Rust", "HTML", "C++"]), max_size=4)
repos = st.sampled_from(["a/x", "a/y", "b/z", "c/w-1", "d/long-name"])
inputs = st.dictionaries(repos, st.dictionaries(days, languages, max_size=25), max_size=5)


@settings(max_examples=200, deadline=None)
@given(inputs)
def test_document_is_presence_only_and_reverse_indexes_match(repo_days):
    doc = document_build(repo_days=repo_days, window_start=START, window_end=END)
    assert doc["version"] == 1 and doc["window_years"] == 2
    assert list(doc["days"]) == sorted(doc["days"])
    assert all(START.isoformat() <= d <= END.isoformat() for d in doc["days"])
    for entry in doc["days"].values():
        assert entry["repos"] == sorted(set(entry["repos"])) and entry["repos"]
        assert entry["languages"] == sorted(set(entry["languages"]))
    # repo_days and language_days are exactly the reverse indexes of days
    by_repo: dict[str, list[str]] = {}
    by_language: dict[str, list[str]] = {}
    for day, entry in doc["days"].items():
        for repo in entry["repos"]:
            by_repo.setdefault(repo, []).append(day)
        for language in entry["languages"]:
            by_language.setdefault(language, []).append(day)
    assert doc["repo_days"] == by_repo
    assert doc["language_days"] == by_language
    for values in (*doc["repo_days"].values(), *doc["language_days"].values()):
        assert values == sorted(set(values))
    # and days are exactly the inputs' days inside the window
    expected = {
        d
        for per_day in repo_days.values()
        for d in per_day
        if START.isoformat() <= d <= END.isoformat()
    }
    assert set(doc["days"]) == expected
