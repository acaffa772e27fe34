"""The heatmap renderer on hand-made activity documents (no database)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from xml.etree import ElementTree

from web.heatmap import heatmap_render, level

TODAY = date(2026, 12, 2)  # a Wednesday
SVG_NS = "{http://www.w3.org/2000/svg}"


def doc(days: dict[str, dict], window_years: int = 2) -> dict:
    """An activity document whose reverse indexes are derived from `days`."""
    repo_days: dict[str, list[str]] = {}
    language_days: dict[str, list[str]] = {}
    for day, entry in sorted(days.items()):
        for repo in entry["repos"]:
            repo_days.setdefault(repo, []).append(day)
        for language in entry["languages"]:
            language_days.setdefault(language, []).append(day)
    return {
        "version": 1,
        "window_years": window_years,
        "days": days,
        "repo_days": repo_days,
        "language_days": language_days,
    }


SAMPLE = doc(
    {
        "2026-12-01": {"repos": ["a/one", "a/two", "b/three"], "languages": ["Python"]},
        "2026-11-30": {"repos": ["a/one"], "languages": ["Python", "Rust", "Go"]},
        "2026-06-15": {"repos": ["a/two"], "languages": []},
        "2025-01-01": {"repos": ["b/three"], "languages": ["Rust"]},
        # Outside the two-year window: never drawn.
        "2024-01-01": {"repos": ["a/one"], "languages": ["Python"]},
    }
)


def _xml(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # noqa: S314 - the SVG this test just made


def cells(svg: str) -> dict[str, tuple[str, int]]:
    """date -> (class, count) of every lit cell, parsed as XML (so the SVG is valid)."""
    root = _xml(svg)
    out = {}
    for rect in root.iter(f"{SVG_NS}rect"):
        title = rect.find(f"{SVG_NS}title")
        if title is not None:
            day, _, rest = title.text.partition(": ")
            count = int(rest.split()[0]) if rest[:1].isdigit() else 1
            out[day] = (rect.attrib["class"], count)
    return out


def all_rects(svg: str) -> int:
    return len(_xml(svg).findall(f".//{SVG_NS}rect"))


def test_heatmap_none_document_returns_none():
    assert heatmap_render(None, today=TODAY) is None
    assert heatmap_render({}, today=TODAY) is None


def test_heatmap_draws_every_day_of_the_window_weeks_as_columns():
    drawn = heatmap_render(SAMPLE, today=TODAY)
    assert drawn.start == TODAY - timedelta(days=729) and drawn.end == TODAY
    # One cell per day of the window, nothing before or after it.
    assert all_rects(drawn.svg) == 730
    root = _xml(drawn.svg)
    weeks = root.findall(f"{SVG_NS}g")
    # Columns are weeks: each holds at most 7 cells, and there are ~105 of them.
    assert 104 <= len(weeks) <= 106
    assert all(len(week.findall(f"{SVG_NS}rect")) <= 7 for week in weeks)
    # Rows are weekdays: the same y in every full column.
    ys = [r.attrib["y"] for r in weeks[1].findall(f"{SVG_NS}rect")]
    assert ys == sorted(set(ys), key=int) and len(ys) == 7


def test_heatmap_repos_mode_intensity_by_repos_touched():
    drawn = heatmap_render(SAMPLE, today=TODAY)
    lit = cells(drawn.svg)
    assert set(lit) == {"2026-12-01", "2026-11-30", "2026-06-15", "2025-01-01"}
    assert lit["2026-12-01"] == ("l4", 3)  # the busiest day
    assert lit["2026-11-30"] == ("l2", 1)
    assert drawn.busiest == 3 and drawn.active_days == 4
    assert "2024-01-01" not in lit  # clipped to the window
    assert drawn.summary.startswith("4 active days")


def test_heatmap_languages_mode_counts_languages_and_skips_days_without():
    drawn = heatmap_render(SAMPLE, today=TODAY, mode="languages")
    lit = cells(drawn.svg)
    assert lit["2026-11-30"] == ("l4", 3)
    assert lit["2026-12-01"] == ("l2", 1)
    assert "2026-06-15" not in lit  # repos but no languages that day
    assert 'class="hm hm-languages"' in drawn.svg


def test_heatmap_filter_by_repo_lights_only_its_days():
    drawn = heatmap_render(SAMPLE, today=TODAY, repo="a/two")
    assert set(cells(drawn.svg)) == {"2026-12-01", "2026-06-15"}
    assert drawn.repo == "a/two" and drawn.filtered
    assert "commits to a/two" in drawn.summary


def test_heatmap_filter_by_language_lights_only_its_days():
    drawn = heatmap_render(SAMPLE, today=TODAY, language="Rust")
    assert set(cells(drawn.svg)) == {"2026-11-30", "2025-01-01"}
    assert all(cls == "l4" for cls, _ in cells(drawn.svg).values())


def test_heatmap_unknown_names_and_modes_fall_back_to_the_default_view():
    drawn = heatmap_render(SAMPLE, today=TODAY, mode="<script>", repo="nope/x", language="Klingon")
    assert drawn.mode == "repos" and drawn.repo is None and drawn.language is None
    assert cells(drawn.svg) == cells(heatmap_render(SAMPLE, today=TODAY).svg)


def test_heatmap_repo_filter_wins_over_language_filter():
    drawn = heatmap_render(SAMPLE, today=TODAY, repo="a/one", language="Rust")
    assert drawn.repo == "a/one" and drawn.language is None


def test_heatmap_options_list_every_repo_and_language():
    drawn = heatmap_render(SAMPLE, today=TODAY)
    assert drawn.repos == ["a/one", "a/two", "b/three"]
    assert drawn.languages == ["Go", "Python", "Rust"]


def test_heatmap_month_and_weekday_labels():
    svg = heatmap_render(SAMPLE, today=TODAY).svg
    labels = re.findall(r'class="hm-m">([^<]+)<', svg)
    assert labels[0].endswith("2024")  # the window's first month carries its year
    assert "Jan 2025" in labels and "Jan 2026" in labels
    assert {"Jun", "Nov"} <= set(labels)
    assert re.findall(r'class="hm-d">(\w+)<', svg) == ["Mon", "Wed", "Fri"]


def test_heatmap_tooltips_name_the_day_and_what_was_touched():
    svg = heatmap_render(SAMPLE, today=TODAY).svg
    assert "<title>2026-12-01: 3 repos: a/one, a/two, b/three</title>" in svg
    assert "<title>2026-11-30: 1 repo: a/one</title>" in svg
    many = doc({"2026-12-01": {"repos": [f"o/r{i}" for i in range(5)], "languages": []}})
    assert (
        "<title>2026-12-01: 5 repos: o/r0, o/r1, o/r2 +2</title>"
        in heatmap_render(many, today=TODAY).svg
    )
    assert (
        "<title>2026-06-15: a/two</title>" in heatmap_render(SAMPLE, today=TODAY, repo="a/two").svg
    )


def test_heatmap_escapes_names():
    evil = doc({"2026-12-01": {"repos": ['x/<img src=x onerror="1">'], "languages": []}})
    svg = heatmap_render(evil, today=TODAY).svg
    assert "<img" not in svg
    _xml(svg)  # still well-formed


def test_heatmap_empty_document_draws_an_empty_window():
    drawn = heatmap_render(doc({}), today=TODAY)
    assert drawn.active_days == 0 and cells(drawn.svg) == {}
    assert drawn.summary.startswith("No commits")


def test_heatmap_window_years_from_the_document():
    drawn = heatmap_render(doc({}, window_years=1), today=TODAY)
    assert all_rects(drawn.svg) == 365


def test_heatmap_ignores_malformed_days():
    bad = {
        "version": 1,
        "window_years": 2,
        "days": {"not-a-date": {"repos": ["a/b"]}, "2026-12-01": "oops"},
        "repo_days": {},
        "language_days": {},
    }
    assert heatmap_render(bad, today=TODAY).active_days == 0


def test_level_quartiles():
    assert [level(n, 8) for n in (0, 1, 2, 3, 4, 5, 8)] == [0, 1, 1, 2, 2, 3, 4]
    assert level(1, 1) == 4 and level(5, 0) == 0


def test_heatmap_weight_stays_small_for_a_busy_two_years():
    busy = doc(
        {
            (TODAY - timedelta(days=d)).isoformat(): {
                "repos": [f"o/r{d % 7}", f"o/r{d % 5}"],
                "languages": ["Python", "Go"],
            }
            for d in range(0, 730, 1)
        }
    )
    drawn = heatmap_render(busy, today=TODAY)
    assert drawn.active_days == 730
    assert len(drawn.svg.encode()) < 75_000
