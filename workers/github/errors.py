"""Typed errors of the GitHub gateway.

Messages name the request (method, path, status) and never a token. Tasks map them:
`RateLimited` → `not_before = reset_at` on the work row; `SecondaryRateLimited` → a
short `self.retry(countdown=...)` or `not_before`; `Transient` (what is left after the
gateway's own few retries) → a task retry or the work row's `not_before`; everything
else is permanent for that piece of work.
"""

from __future__ import annotations

from datetime import UTC, datetime


class GitHubError(Exception):
    """Base of every gateway error."""

    def __init__(self, message: str = "", *, status: int | None = None, url: str = ""):
        self.status = status
        self.url = url
        super().__init__(message or self.__class__.__name__)


class NotFound(GitHubError):
    """404 (or a GraphQL NOT_FOUND): the user, repository or ref does not exist."""


class BadCredentials(GitHubError):
    """401: the token is invalid or revoked (or GraphQL was called without one)."""


class RateLimited(GitHubError):
    """The primary budget is spent (GitHub's `remaining == 0` or our own ceiling)."""

    def __init__(
        self,
        message: str = "",
        *,
        reset_at: datetime,
        resource: str = "core",
        status: int | None = None,
        url: str = "",
    ):
        self.reset_at = reset_at
        self.resource = resource
        super().__init__(
            message or f"rate limited on {resource} until {reset_at.isoformat()}",
            status=status,
            url=url,
        )

    @property
    def seconds_left(self) -> float:
        return max(0.0, (self.reset_at - datetime.now(UTC)).total_seconds())


class SecondaryRateLimited(GitHubError):
    """GitHub's secondary (abuse) limit: wait `retry_after` seconds."""

    def __init__(self, message: str = "", *, retry_after: float, status=None, url: str = ""):
        self.retry_after = float(retry_after)
        super().__init__(
            message or f"secondary rate limit, retry after {self.retry_after:.0f}s",
            status=status,
            url=url,
        )


class PaginationLimit(GitHubError):
    """422 past the stargazer page cap (or an empty page past it)."""


class StargazersRestricted(GitHubError):
    """The stargazer list of this repository may not be listed with this token."""


class EmptyRepository(GitHubError):
    """409: the repository has no commits."""


class Blocked(GitHubError):
    """451, or 403 "Repository access blocked"."""


class QueryTooLarge(GitHubError):
    """A GraphQL query GitHub will not run as it is (MAX_NODE_LIMIT_EXCEEDED,
    RESOURCE_LIMITS_EXCEEDED): ask again with a smaller one."""


class Transient(GitHubError):
    """5xx, timeouts and connection resets that outlived the bounded retries.

    `retry_after` is the server's `Retry-After` (seconds) when it sent one.
    """

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        url: str = "",
        retry_after: float | None = None,
    ):
        self.retry_after = retry_after
        super().__init__(message, status=status, url=url)


__all__ = [
    "BadCredentials",
    "Blocked",
    "EmptyRepository",
    "GitHubError",
    "NotFound",
    "PaginationLimit",
    "QueryTooLarge",
    "RateLimited",
    "SecondaryRateLimited",
    "StargazersRestricted",
    "Transient",
]
