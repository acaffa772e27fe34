"""The JSON Schema patterns of GitHub's names say what the regular expressions say."""

from __future__ import annotations

import re

import pytest

from workers.github import names

SAMPLES = [
    "a", "A1", "octo-cat", "a-b-c", "x" * 39, "x" * 40, "-a", "a-", "a--b", "a_b", "a.b",
    ".", "..", "...", ".a", "..a", "a.", "repo.name", "r" * 100, "r" * 101, "", "ü", "a b",
]  # fmt: skip


def _schema_match(pattern: str, max_length: int, value: str) -> bool:
    return 1 <= len(value) <= max_length and re.match(pattern, value) is not None


@pytest.mark.parametrize("value", SAMPLES)
def test_username_pattern_agrees_with_the_rule(value):
    assert _schema_match(
        names.USERNAME_PATTERN, names.USERNAME_MAX_LENGTH, value
    ) is names.username_valid(value)


@pytest.mark.parametrize("value", SAMPLES)
def test_repo_name_pattern_agrees_with_the_rule(value):
    assert _schema_match(
        names.REPO_NAME_PATTERN, names.REPO_NAME_MAX_LENGTH, value
    ) is names.repo_name_valid(value)
