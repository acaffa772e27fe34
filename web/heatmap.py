"""The activity heatmap: the activity document drawn as a GitHub-style inline SVG.

A pure function of the document (and the day the window ends), so it is tested with
hand-made documents and renders the same on the page and in the fragment the page's
script fetches when the view changes. Weeks are columns (Sunday on top), days are rows;
a cell's shade is the number of repos (or languages) touched that day, relative to the
busiest day in the window. Filtered by one repo or one language, a cell is lit on the
days that repo (language) was touched.

The SVG is small on purpose: a cell is `<rect y=".."/>` inside its week's `<g>`, its
size and colour come from the page's stylesheet, and only active days carry a
`<title>` (the tooltip: the ISO date first, then what was touched).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape
from typing import Any

MODES = ("repos", "languages")
LEVELS = 4
CELL = 11
STEP = 13  # cell + gap
LEFT = 30  # room for the weekday labels
TOP = 18  # room for the month labels
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
LABEL_CHAR = 6  # px per character of a 10 px label, for spacing
TITLE_NAMES = 3  # names listed in a cell's tooltip before "+N more"


@dataclass(frozen=True)
class Heatmap:
    """What the page shows: the SVG, its text summary, and the view's options."""

    svg: str
    summary: str
    mode: str
    repo: str | None
    language: str | None
    repos: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    active_days: int = 0
    busiest: int = 0
    start: date | None = None
    end: date | None = None
    unit: str = "repos"

    @property
    def filtered(self) -> bool:
        return bool(self.repo or self.language)


def _parse(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def level(count: int, busiest: int) -> int:
    """0 for no activity, else 1–4 by the share of the busiest day (GitHub's quartiles)."""
    if count <= 0 or busiest <= 0:
        return 0
    return max(1, min(LEVELS, math.ceil(LEVELS * count / busiest)))


def window(document: dict[str, Any], *, today: date) -> tuple[date, date]:
    """The days drawn: `window_years` back from today (inclusive), as the document says."""
    years = document.get("window_years") or 2
    try:
        years = max(1, min(int(years), 10))
    except (TypeError, ValueError):
        years = 2
    return today - timedelta(days=365 * years - 1), today


def heatmap_render(
    document: dict[str, Any] | None,
    *,
    today: date,
    mode: str = "repos",
    repo: str | None = None,
    language: str | None = None,
) -> Heatmap | None:
    """Draw the document; None when there is no document to draw.

    `mode` picks what a day counts (repos or languages); `repo` or `language` (one of
    them; an unknown name is ignored) shows only the days it was touched.
    """
    if not document:
        return None
    mode = mode if mode in MODES else "repos"
    days: dict[str, Any] = document.get("days") or {}
    repo_days: dict[str, list[str]] = document.get("repo_days") or {}
    language_days: dict[str, list[str]] = document.get("language_days") or {}
    repos = sorted(repo_days, key=str.lower)
    languages = sorted(language_days, key=str.lower)
    repo = repo if repo in repo_days else None
    language = language if language in language_days and not repo else None

    start, end = window(document, today=today)
    # The days the chosen repo or language was touched (None: no filter).
    chosen = repo_days[repo] if repo else language_days[language] if language else None
    lit: set[str] | None = set(chosen) if chosen is not None else None

    counts, names = _day_counts(
        days, start=start, end=end, mode=mode, lit=lit, label=repo or language or ""
    )
    busiest = max(counts.values(), default=0)
    unit = "languages" if mode == "languages" and lit is None else "repos"
    summary = _summary(len(counts), busiest, mode, repo, language, start, end)
    svg = _svg(
        counts,
        names,
        start=start,
        end=end,
        mode=mode,
        unit=unit,
        filtered=lit is not None,
        summary=summary,
    )
    return Heatmap(
        svg=svg,
        summary=summary,
        mode=mode,
        repo=repo,
        language=language,
        repos=repos,
        languages=languages,
        active_days=len(counts),
        busiest=busiest,
        start=start,
        end=end,
        unit=unit,
    )


def _day_counts(
    days: dict[str, Any], *, start: date, end: date, mode: str, lit: set[str] | None, label: str
) -> tuple[dict[date, int], dict[date, list[str]]]:
    """Per day of the window: how many repos or languages it touched, and their names. With
    a filter (`lit`: the days the chosen repo or language was touched) a lit day counts 1
    and is named `label`."""
    counts: dict[date, int] = {}
    names: dict[date, list[str]] = {}
    for key, entry in days.items():
        day = _parse(key)
        if day is None or not start <= day <= end or not isinstance(entry, dict):
            continue
        touched = list(entry.get(mode) or [])
        if lit is not None:
            if key not in lit:
                continue
            counts[day] = 1
            names[day] = [label]
        elif touched:
            counts[day] = len(touched)
            names[day] = sorted(touched, key=str.lower)
    return counts, names


def _svg(
    counts: dict[date, int],
    names: dict[date, list[str]],
    *,
    start: date,
    end: date,
    mode: str,
    unit: str,
    filtered: bool,
    summary: str,
) -> str:
    """The grid: a column per week (Sunday first), a cell per day of the window."""
    busiest = max(counts.values(), default=0)
    # The first column is the week (Sunday first) holding the window's first day.
    first_sunday = start - timedelta(days=(start.weekday() + 1) % 7)
    weeks = (end - first_sunday).days // 7 + 1
    width = LEFT + weeks * STEP
    height = TOP + 7 * STEP
    title_id = "hm-title"
    variant = "filter" if filtered else mode
    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="hm hm-{variant}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{title_id}" data-mode="{mode}" '
        f'data-active-days="{len(counts)}" data-busiest="{busiest}">',
        f'<title id="{title_id}">{escape(summary)}</title>',
    ]
    parts += _labels(first_sunday, weeks, start)
    for week in range(weeks):
        cells: list[str] = []
        for weekday in range(7):
            day = first_sunday + timedelta(days=week * 7 + weekday)
            if day < start or day > end:
                continue
            y = TOP + weekday * STEP
            count = counts.get(day, 0)
            if not count:
                cells.append(f'<rect y="{y}"/>')
                continue
            shade = LEVELS if filtered else level(count, busiest)
            tip = escape(_tooltip(day, count, names[day], unit, filtered))
            cells.append(f'<rect y="{y}" class="l{shade}"><title>{tip}</title></rect>')
        parts.append(f'<g transform="translate({LEFT + week * STEP} 0)">{"".join(cells)}</g>')
    parts.append("</svg>")
    return "".join(parts)


def _labels(first_sunday: date, weeks: int, start: date) -> list[str]:
    """Month names above the first column of each month; Mon, Wed, Fri on the left."""
    out = []
    last_end = -100
    for week in range(weeks):
        sunday = first_sunday + timedelta(days=week * 7)
        # The month whose first day falls in this column (or the window's first month).
        firsts = [sunday + timedelta(days=i) for i in range(7)]
        month_start = next((d for d in firsts if d.day == 1 and d >= start), None)
        if week == 0 and month_start is None:
            month_start = max(start, sunday)
        if month_start is None:
            continue
        x = LEFT + week * STEP
        label = MONTHS[month_start.month - 1]
        if month_start.month == 1 or week == 0:
            label = f"{label} {month_start.year}"
        if x < last_end + 4 or x + LABEL_CHAR * len(label) > LEFT + weeks * STEP:
            continue  # no room after the previous label, or past the right edge
        out.append(f'<text x="{x}" y="11" class="hm-m">{label}</text>')
        last_end = x + LABEL_CHAR * len(label)
    for weekday, name in ((1, "Mon"), (3, "Wed"), (5, "Fri")):
        out.append(f'<text x="0" y="{TOP + weekday * STEP + 9}" class="hm-d">{name}</text>')
    return out


def _tooltip(day: date, count: int, names: list[str], unit: str, filtered: bool) -> str:
    stamp = day.isoformat()
    if filtered:
        return f"{stamp}: {names[0]}"
    noun = unit if count != 1 else unit[:-1]
    shown = ", ".join(names[:TITLE_NAMES])
    more = f" +{len(names) - TITLE_NAMES}" if len(names) > TITLE_NAMES else ""
    return f"{stamp}: {count} {noun}: {shown}{more}"


def _summary(
    active: int,
    busiest: int,
    mode: str,
    repo: str | None,
    language: str | None,
    start: date,
    end: date,
) -> str:
    span = f"{start.isoformat()} to {end.isoformat()}"
    plural = "s" if active != 1 else ""
    if repo:
        return f"{active} day{plural} with commits to {repo}, {span}."
    if language:
        return f"{active} day{plural} with {language} commits, {span}."
    unit = "languages" if mode == "languages" else "repositories"
    if not active:
        return f"No commits from {span}."
    return f"{active} active day{plural} from {span}; at most {busiest} {unit} on one day."
