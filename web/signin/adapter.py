"""allauth adapters: accounts come only from GitHub, and a GitHub sign-in runs the
login service the API runs, then lands the person on their own profile."""

from __future__ import annotations

import logging

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.http import HttpRequest
from django.urls import reverse

from config.principals import SESSION_GITHUB_LOGIN
from users import services as user_services

logger = logging.getLogger(__name__)


def viewer_login(request: HttpRequest) -> str | None:
    """The signed-in person's GitHub login, or None for anyone not signed in."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return request.session.get(SESSION_GITHUB_LOGIN)


def github_signed_in(request: HttpRequest, *, login: str, token: str | None) -> None:
    """The API's login (new / activated ghost / existing refresh) with the person's own
    token, stored encrypted as an API-given `github_token` is."""
    result = user_services.user_login(login=login, github_token=token or None)
    request.session[SESSION_GITHUB_LOGIN] = login
    logger.info("web.signed_in", extra={"user": login, "status": result.status})


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # No local sign-up: a person's account is their GitHub account.
        return False

    def post_login(self, request: HttpRequest, user, *, signal_kwargs=None, **kwargs):
        sociallogin = (signal_kwargs or {}).get("sociallogin")
        if sociallogin is not None and sociallogin.account.provider == "github":
            token = sociallogin.token.token if sociallogin.token else None
            github_signed_in(request, login=sociallogin.account.extra_data["login"], token=token)
        return super().post_login(request, user, signal_kwargs=signal_kwargs, **kwargs)

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        login = viewer_login(request)
        if login:
            return reverse("web-profile", args=[login])
        return super().get_login_redirect_url(request)

    def get_signup_redirect_url(self, request: HttpRequest) -> str:
        # A first sign-in creates the account: the person lands on their profile too.
        return self.get_login_redirect_url(request)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin) -> bool:
        return True
