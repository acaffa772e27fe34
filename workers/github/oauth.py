"""GitHub's OAuth web-flow endpoints (for OAuth apps), from the configured GitHub.

`GITHUB_WEB_URL` serves the access-token exchange (server to GitHub) and, unless
`GITHUB_OAUTH_WEB_URL` names another base for browsers, the authorize page;
`GITHUB_API_URL` the authenticated user (`GET /user`) that names who signed in. Read at
call time, so tests and the demo can point them at the simulator.
"""

from __future__ import annotations

from django.conf import settings


def oauth_authorize_url() -> str:
    base = settings.GITHUB_OAUTH_WEB_URL or settings.GITHUB_WEB_URL
    return f"{base}/login/oauth/authorize"


def oauth_access_token_url() -> str:
    return f"{settings.GITHUB_WEB_URL}/login/oauth/access_token"


def oauth_user_url() -> str:
    return f"{settings.GITHUB_API_URL}/user"


def oauth_emails_url() -> str:
    return f"{settings.GITHUB_API_URL}/user/emails"
