"""GitHub's naming rules, in one place: usernames (and so owners) and repository names."""

from __future__ import annotations

import re

# 1-39 characters, alphanumerics or single hyphens, no hyphen at either end.
USERNAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
# 1-100 characters of letters, digits, '.', '-' or '_'; "." and ".." are refused.
REPO_NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


# The same rules for JSON Schema (the OpenAPI path parameters): no look-arounds, the
# lengths apart, so any schema tool can read and generate them.
USERNAME_PATTERN = r"^[A-Za-z0-9](?:-?[A-Za-z0-9])*$"
USERNAME_MAX_LENGTH = 39
# Any run of the allowed characters except "." and "..".
REPO_NAME_PATTERN = (
    r"^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*|\.[A-Za-z0-9_-][A-Za-z0-9._-]*|\.\.[A-Za-z0-9._-]+)$"
)
REPO_NAME_MAX_LENGTH = 100


def username_valid(value: object) -> bool:
    """Whether `value` is a name GitHub accepts for a user or an organisation."""
    return isinstance(value, str) and USERNAME_RE.match(value) is not None


def repo_name_valid(value: object) -> bool:
    """Whether `value` is a name GitHub accepts for a repository (without its owner)."""
    return (
        isinstance(value, str)
        and REPO_NAME_RE.match(value) is not None
        and value not in (".", "..")
    )
