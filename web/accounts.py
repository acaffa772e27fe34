"""The pages of a person: sign in, settings (delete my account), and looking anyone up.

The OAuth flow itself is allauth's (`web/signin/`); these pages start it, end the
account, and let any visitor ask for a profile Gazer does not have yet.
"""

from __future__ import annotations

import contextlib
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from config.errors import GazerError
from config.throttles import ClientRateThrottle
from users import selectors as user_selectors
from users import services as user_services
from users.errors import UserExists, UserNotFound
from web.signin.adapter import viewer_login

logger = logging.getLogger(__name__)


def safe_next(request: HttpRequest, value: str | None) -> str | None:
    """`next` when it stays on this site, else None."""
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return None


def viewer_context(request: HttpRequest) -> dict[str, str | None]:
    """Template context: the signed-in person's GitHub login (the site's navigation)."""
    return {"viewer_login": viewer_login(request)}


def message_page(
    request: HttpRequest, *, title: str, text: str, status: int, signin: bool = False
) -> HttpResponse:
    context = {"title": title, "text": text, "signin": signin, "next": request.get_full_path()}
    return render(request, "web/message.html", context, status=status)


def principal_allowed(request: HttpRequest, *, scope: str) -> bool:
    """The caller's rate limit (per account when signed in, else per address)."""
    return ClientRateThrottle().allow_scope(request, None, scope)


@require_safe
def signin(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, request.GET.get("next"))
    login = viewer_login(request)
    if login:
        return redirect(next_url or reverse("web-profile", args=[login]))
    context = {"configured": bool(settings.GITHUB_OAUTH_CLIENT_ID), "next": next_url}
    return render(request, "web/signin.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def account_settings(request: HttpRequest) -> HttpResponse:
    login = viewer_login(request)
    if login is None:  # a staff session without GitHub: nothing of this page is theirs
        return message_page(
            request,
            title="No GitHub account",
            text="This session did not sign in with GitHub.",
            status=403,
        )
    if request.method == "POST":
        if (request.POST.get("confirm") or "").strip().lower() != login.lower():
            messages.error(request, "The login you typed does not match: nothing was deleted.")
            return redirect("web-settings")
        # Deleted already (e.g. through the API): the Django account still goes.
        with contextlib.suppress(UserNotFound):
            user_services.user_delete(login=login)
        account = request.user
        logout(request)
        account.delete()
        logger.info("web.account_deleted", extra={"user": login})
        messages.success(request, "Your account and everything only you owned are deleted.")
        return redirect("home")
    return render(request, "web/settings.html", {"login": login})


@require_POST
def lookup(request: HttpRequest) -> HttpResponse:
    """Open `/u/<login>`; a login Gazer has no profile for is queued as a ghost first."""
    login = (request.POST.get("login") or "").strip().lstrip("@")
    try:
        user_selectors.username_validate(login=login)
    except GazerError:
        messages.error(request, "That is not a GitHub login (letters, digits, single hyphens).")
        return redirect("home")
    try:
        user = user_selectors.user_get(login=login)
    except GazerError:
        user = None
    if user is None:
        if not principal_allowed(request, scope="pipeline"):
            return message_page(
                request,
                title="Too many look-ups",
                text="You have asked for many new profiles in a short time; try again later.",
                status=429,
            )
        with contextlib.suppress(UserExists):  # someone else asked for it a moment ago
            user_services.ghost_create(login=login)
    return redirect("web-profile", login=login)
