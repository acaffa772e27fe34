"""One timestamp parser for GitHub's, git's and clients' date-times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from workers.timestamps import timestamp_parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T05:04:05+02:00", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02 03:04:05", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05.250Z", datetime(2024, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)),
        ("2024-01-02", datetime(2024, 1, 2, tzinfo=UTC)),
        (" 2024-01-02T03:04:05Z ", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ],
)
def test_timestamp_parse_reads_iso_date_times_as_utc(text, expected):
    parsed = timestamp_parse(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("bad", [None, "", "   ", "yesterday", "2024-13-01T00:00:00Z", 17])
def test_timestamp_parse_empty_or_malformed_is_none(bad):
    assert timestamp_parse(bad) is None


def test_timestamp_parse_keeps_a_datetime_and_makes_it_utc():
    eastern = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5)))
    assert timestamp_parse(eastern) == datetime(2024, 1, 2, 8, 4, 5, tzinfo=UTC)
    assert timestamp_parse(datetime(2024, 1, 2)) == datetime(2024, 1, 2, tzinfo=UTC)
