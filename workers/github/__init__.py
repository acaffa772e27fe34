"""The only door to GitHub (REST, GraphQL, git, raw and media URLs).

from workers.github import github, Page
from workers.github import errors as gh_errors

gw = github()
gw.user("octocat")
page = gw.stargazers_page("octo/repo", url=cursor, etag=etag, token=account_token)
"""

from __future__ import annotations

import os
import threading

from django.conf import settings

from . import errors
from .client import GitHubGateway, Page

__all__ = ["GitHubGateway", "Page", "errors", "github"]

_lock = threading.Lock()
_gateway: tuple[tuple, GitHubGateway] | None = None


def _settings_key() -> tuple:
    return (
        os.getpid(),
        settings.GITHUB_API_URL,
        settings.GITHUB_WEB_URL,
        tuple(settings.GITHUB_TOKENS),
        settings.GITHUB_REQUESTS_PER_HOUR,
        settings.REDIS_URL,
        settings.GITHUB_TIMEOUT_SECONDS,
        settings.GITHUB_RETRIES,
        settings.GITHUB_RETRY_BACKOFF_SECONDS,
        settings.GITHUB_RETRY_WAIT_MAX_SECONDS,
    )


def github() -> GitHubGateway:
    """The process-wide gateway built from settings (rebuilt after a fork or a change)."""
    global _gateway
    key = _settings_key()
    with _lock:
        if _gateway is None or _gateway[0] != key:
            _, api_url, web_url, tokens, per_hour, redis_url, timeout, *retry = key
            _gateway = (
                key,
                GitHubGateway(
                    api_url=api_url,
                    web_url=web_url,
                    tokens=list(tokens),
                    requests_per_hour=per_hour,
                    redis_url=redis_url,
                    timeout=float(timeout),
                    retries=retry[0],
                    retry_backoff=retry[1],
                    retry_wait_max=retry[2],
                ),
            )
        return _gateway[1]
