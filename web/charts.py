"""Small inline SVG charts drawn on the server: a repo's star history and the ops plots.

Pure functions of their series; the page's stylesheet colours them (`.s0`…`.s7`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from typing import Any

SVG_NS = "http://www.w3.org/2000/svg"


@dataclass(frozen=True)
class Series:
    label: str
    points: list[tuple[float, float]]  # (x as a timestamp or day number, y)


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _number(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return _fmt(value)


def star_history_svg(
    days: list[dict[str, Any]], *, repo: str, width: int = 260, height: int = 64
) -> tuple[str, dict[str, Any]] | None:
    """The cumulative stars of a repo from its daily new-star counts; None without days.

    Returns the SVG and its figures (total, first and last day) for the caption.
    """
    points: list[tuple[date, int]] = []
    for row in days:
        try:
            points.append((date.fromisoformat(str(row["date"])[:10]), int(row["count"])))
        except (KeyError, TypeError, ValueError):
            continue
    if not points:
        return None
    points.sort()
    total = 0
    # The curve starts from zero the day before the first star.
    cumulative = [(float(points[0][0].toordinal() - 1), 0.0)]
    for day, count in points:
        total += max(count, 0)
        cumulative.append((float(day.toordinal()), float(total)))
    first, last = points[0][0], points[-1][0]
    label = f"Star history of {repo}: {total} stars from {first.isoformat()} to {last.isoformat()}"
    svg = line_chart_svg(
        [Series(repo, cumulative)],
        width=width,
        height=height,
        label=label,
        area=True,
        axes=False,
        css_class="spark",
    )
    return svg, {"total": total, "first": first, "last": last}


def line_chart_svg(
    series: list[Series],
    *,
    width: int = 420,
    height: int = 150,
    label: str,
    area: bool = False,
    axes: bool = True,
    css_class: str = "plot",
    x_labels: tuple[str, str] | None = None,
) -> str:
    """Lines (one per series, coloured `.s<i>`) on a shared scale, zero-based on y."""
    xs = [x for s in series for x, _ in s.points]
    ys = [y for s in series for _, y in s.points]
    pad_left = 40 if axes else 2
    pad_bottom = 18 if axes else 2
    pad_top, pad_right = 6, 4
    inner_w = width - pad_left - pad_right
    inner_h = height - pad_top - pad_bottom
    out = [
        f'<svg xmlns="{SVG_NS}" class="{css_class}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}">'
    ]
    if not xs:
        out.append(
            f'<text x="{width // 2}" y="{height // 2}" text-anchor="middle" class="ax">'
            "no data</text>"
        )
        out.append("</svg>")
        return "".join(out)
    x0, x1 = min(xs), max(xs)
    y1 = max(ys) or 1.0
    span_x = (x1 - x0) or 1.0

    def px(x: float) -> float:
        return pad_left + (x - x0) / span_x * inner_w if x1 != x0 else pad_left + inner_w / 2

    def py(y: float) -> float:
        return pad_top + inner_h - (y / y1) * inner_h

    if axes:
        box = (pad_left, pad_top, width - pad_right, pad_top + inner_h)
        out += _axes(box, top_value=y1, height=height, x_labels=x_labels)
    for index, s in enumerate(series):
        if not s.points:
            continue
        coords = [(px(x), py(y)) for x, y in sorted(s.points)]
        line = "M" + "L".join(f"{_fmt(x)} {_fmt(y)}" for x, y in coords)
        if len(coords) == 1:
            line += f"h{1 if not axes else 2}"
        cls = f"s{index % 8}"
        if area:
            bottom = _fmt(pad_top + inner_h)
            fill = f"{line}V{bottom}H{_fmt(coords[0][0])}Z"
            out.append(f'<path class="area {cls}" d="{fill}"/>')
        out.append(f'<path class="line {cls}" d="{line}"><title>{escape(s.label)}</title></path>')
    out.append("</svg>")
    return "".join(out)


def _axes(
    box: tuple[float, float, float, float],
    *,
    top_value: float,
    height: int,
    x_labels: tuple[str, str] | None,
) -> list[str]:
    """Grid lines at the top, middle and base of the plot box (left, top, right, base), the
    y scale's ends, and the x axis's first and last labels."""
    left, top, right, base = box
    out = [
        f'<path class="grid" d="M{left} {top}H{right}'
        f"M{left} {_fmt(top + (base - top) / 2)}H{right}"
        f'M{left} {base}H{right}"/>',
        f'<text x="{left - 4}" y="{top + 8}" class="ax" text-anchor="end">',
        f"{_number(top_value)}</text>",
        f'<text x="{left - 4}" y="{base}" class="ax" text-anchor="end">0</text>',
    ]
    if x_labels:
        out.append(f'<text x="{left}" y="{height - 4}" class="ax">{escape(x_labels[0])}')
        out.append("</text>")
        out.append(
            f'<text x="{right}" y="{height - 4}" class="ax" text-anchor="end">'
            f"{escape(x_labels[1])}</text>"
        )
    return out


def timestamp(value: datetime) -> float:
    return value.timestamp()
