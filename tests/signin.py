"""Signing a test client or a browser page in, as a finished GitHub sign-in leaves the
session."""

from __future__ import annotations

# The simulator's registered OAuth app (ghsim/state.py), public like the simulator.
OAUTH_APP = {"client_id": "ghsim-oauth-app", "secret": "ghsim-oauth-secret"}


def sign_in_as(client, login: str):
    """Sign a test client in as the GitHub user `login`, as a finished GitHub sign-in
    leaves the session (a Django account and the GitHub login in the session)."""
    from django.contrib.auth import get_user_model

    from config.principals import SESSION_GITHUB_LOGIN as SESSION_LOGIN

    account, _ = get_user_model().objects.get_or_create(username=login)
    client.force_login(account, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[SESSION_LOGIN] = login
    session.save()
    return account


def sign_in_browser(page, live_server, login: str) -> None:
    """Give a browser page the session of `login` signed in with GitHub."""
    from urllib.parse import urlsplit

    from django.conf import settings
    from django.test import Client

    client = Client()
    sign_in_as(client, login)
    host = urlsplit(live_server.url).hostname
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "domain": host,
                "path": "/",
            }
        ]
    )
