"""Server-rendered pages. Thin: look the subject up, call the selectors and services the
API calls, shape nothing the API does not already shape, render.

Every page works without JavaScript; `static/web/gazer.js` only adds the progress
polling, the heatmap's in-place view changes and pulling in the kindred developers
(all plain GET requests of pages or fragments rendered here).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.views import redirect_to_login
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST, require_safe

from activity.selectors import user_activity_computed_at, user_activity_get
from config.errors import GazerError
from feed.scoring import REASON_LABELS
from feed.services import feed_page_serve, feed_rebuild_request
from repos import selectors as repo_selectors
from repos.models import Repo
from stargazers import services as star_services
from stargazers.models import StargazerCrawl
from stargazers.selectors import repos as star_repo_selectors
from users import pipeline as user_pipeline
from users import selectors as user_selectors
from users.models import GitHubUser, PipelineRun
from web import ops, render_cache
from web.accounts import principal_allowed
from web.signin.adapter import viewer_login
from workers.github import github

ACTIVE_STATES = ("queued", "running", "waiting")
KINDRED_LIMIT = 12
# A repo without stored star history is asked for at most this often per process
# (the API asks on every GET; a page under load must not flood the queue).
STAR_HISTORY_REQUEST_EVERY = 600
STATUS_LABELS = {
    "pending": "queued",
    "running": "running",
    "succeeded": "done",
    "failed": "failed",
    "skipped": "skipped",
}


# ----------------------------------------------------------------------------- lookups
def _user_or_none(login: str):
    """The user with a profile (active or ghost), or None (invalid or unknown login)."""
    try:
        return user_selectors.user_get(login=login)
    except GazerError:
        return None


def _discovered_or_none(login: str):
    """A user Gazer knows only from the star graph (no profile pipeline of its own)."""
    try:
        user = user_selectors.user_get(login=login, discovered=True)
    except GazerError:
        return None
    return user if user.state == user.State.DISCOVERED else None


def not_found(request: HttpRequest, login: str | None = None) -> HttpResponse:
    return render(request, "web/404.html", {"login": login}, status=404)


# ------------------------------------------------------------------------------- home
RECENT_PROFILES = 24


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """The landing page: what Gazer holds, the latest profiles, where to look next."""
    profiles = GitHubUser.objects.exclude(state=GitHubUser.State.DISCOVERED)
    context = {
        "profiles": profiles.count(),
        "repos": Repo.objects.count(),
        "crawls": StargazerCrawl.objects.count(),
        "recent": list(
            profiles.order_by(F("last_login_at").desc(nulls_last=True), "-updated_at")[
                :RECENT_PROFILES
            ]
        ),
    }
    return render(request, "web/home.html", context)


# ---------------------------------------------------------------------------- profile
@require_safe
def profile(request: HttpRequest, login: str) -> HttpResponse:
    user = _user_or_none(login)
    if user is None:
        discovered = _discovered_or_none(login)
        if discovered is None:
            return not_found(request, login)
        return render(request, "web/discovered.html", {"person": discovered})
    progress = _progress_unless_finished(user)
    if _unknown_to_github(progress):
        return render(request, "web/unknown_on_github.html", {"login": user.login}, status=404)
    data = user_selectors.user_data(user=user)
    context = {
        "person": data["user"],
        "theme": data["theme"],
        "highlights": _highlights(user, data["highlighted_repos"]),
        "repos_known": data["repos"] is not None,
        "progress": _progress_view(progress),
        "heatmap": _heatmap_view(request, user),
    }
    return render(request, "web/profile.html", context)


@require_safe
def profile_kindred(request: HttpRequest, login: str) -> HttpResponse:
    """Kindred developers on a page of their own; the profile's script pulls the list in.

    The star-graph aggregate behind it is the slowest read a profile makes (seconds on a
    large graph), so the profile itself never waits for it.
    """
    user = _user_or_none(login) or _discovered_or_none(login)
    if user is None:
        return not_found(request, login)
    return render(request, "web/kindred.html", {"person": user, "kindred": _kindred(user.login)})


@require_safe
def profile_progress(request: HttpRequest, login: str) -> HttpResponse:
    """The progress panel alone, polled by the profile page while the pipeline runs."""
    user = _user_or_none(login)
    if user is None:
        return not_found(request, login)
    progress = _progress_view(user_selectors.user_progress(user=user))
    response = render(request, "web/_progress.html", {"progress": progress, "login": user.login})
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def profile_heatmap(request: HttpRequest, login: str) -> HttpResponse:
    """The heatmap figure alone, for the page's in-place view changes."""
    user = _user_or_none(login)
    if user is None:
        return not_found(request, login)
    return render(
        request,
        "web/_heatmap.html",
        {"heatmap": _heatmap_view(request, user), "login": user.login},
    )


def _progress_unless_finished(user) -> dict[str, Any]:
    """Progress as the API reports it, or just "ready" when the latest run succeeded.

    A succeeded run means every required step (the profile fetch first) succeeded, so
    the full step list would show nothing the finished profile needs; skipping it saves
    the page its second-largest read.
    """
    latest = (
        PipelineRun.objects.filter(user=user)
        .order_by("-created_at", "-id")
        .values_list("status", flat=True)
        .first()
    )
    if latest == PipelineRun.Status.SUCCEEDED:
        return {"state": "ready", "message": None, "rate_limited_until": None, "items": []}
    return user_selectors.user_progress(user=user)


def _unknown_to_github(progress: dict[str, Any]) -> bool:
    """The profile fetch failed because GitHub has no such user (its recorded output)."""
    return progress["state"] == "failed" and any(
        item["step"] == user_pipeline.FETCH_PROFILE
        and item["repo"] is None
        and item["status"] == "failed"
        and (item["output"] or {}).get("profile_found") is False
        for item in progress["items"]
    )


def _progress_view(progress: dict[str, Any]) -> dict[str, Any]:
    items = progress["items"]
    done = sum(1 for i in items if i["status"] in ("succeeded", "failed", "skipped"))
    user_steps, repos = [], {}
    for item in items:
        row = {
            "step": item["step"],
            "label": user_pipeline.step_label(item["step"]),
            "status": item["status"],
            "status_label": STATUS_LABELS.get(item["status"], item["status"]),
            "error": item["error"],
        }
        if item["repo"]:
            repos.setdefault(item["repo"], []).append(row)
        else:
            user_steps.append(row)
    return {
        "state": progress["state"],
        "active": progress["state"] in ACTIVE_STATES,
        "message": progress["message"],
        "rate_limited_until": progress["rate_limited_until"],
        "done": done,
        "total": len(items),
        "user_steps": user_steps,
        "repos": sorted(repos.items(), key=lambda pair: pair[0].lower()),
    }


def _highlights(user, repos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The highlighted repos as `/data` shows them, each with its gallery's alt texts,
    its link on GitHub and its star history (the histories' versions in one query, their
    cached drawings in one cache read, the days only of the ones not cached)."""
    ids = repo_selectors.user_highlight_ids(user_id=user.id)
    names = {
        ids[repo["full_name"].lower()]: repo["full_name"]
        for repo in repos
        if repo["full_name"].lower() in ids
    }
    drawn = render_cache.star_histories_drawn(
        names=names,
        versions=star_repo_selectors.star_history_versions(repo_ids=list(names)),
        days=lambda repo_ids: star_repo_selectors.star_history_many(repo_ids=repo_ids),
    )
    out = []
    for repo in repos:
        repo_id = ids.get(repo["full_name"].lower())
        gallery = [
            {**image, "alt": image["alt"] or image["title"] or f"Image {n} of {repo['full_name']}"}
            for n, image in enumerate(repo["gallery"], start=1)
        ]
        out.append(
            {
                **repo,
                "gallery": gallery,
                "history": _star_history(repo_id, drawn),
                "html_url": github().repo_html_url(repo["full_name"]),
            }
        )
    return out


def _star_history(repo_id: int | None, drawn: dict[int, Any]) -> dict[str, Any]:
    if repo_id is None:
        return {"status": "missing"}
    if repo_id not in drawn:
        # As `GET /repos/<r>/star-history` does, ask for it (at most every 10 minutes).
        key = f"web:star-history-requested:{repo_id}"
        if render_cache.once_per(key, STAR_HISTORY_REQUEST_EVERY):
            star_services.star_history_request(repo_id=repo_id)
        return {"status": "fetching"}
    if drawn[repo_id] is None:
        return {"status": "fetching"}
    svg, figures = drawn[repo_id]
    return {"status": "ready", "svg": mark_safe(svg), **figures}  # noqa: S308 - escaped


def _kindred(login: str) -> list[dict[str, Any]]:
    try:
        return star_services.kindred_get_or_compute(login=login, limit=KINDRED_LIMIT)["kindred"]
    except GazerError:
        return []


def _heatmap_view(request: HttpRequest, user) -> dict[str, Any]:
    """The activity section: the stored document drawn in the view asked for (the
    drawing cached per document, view and day; the document read only to draw)."""
    stamp = user_activity_computed_at(user_id=user.id)
    drawn = None
    if stamp is not None:
        drawn = render_cache.heatmap_drawn(
            user_id=user.id,
            stamp=stamp,
            today=timezone.now().date(),
            mode=request.GET.get("mode") or "repos",
            repo=request.GET.get("repo") or None,
            language=request.GET.get("language") or None,
            document=lambda: user_activity_get(user=user)["activity"],
        )
    if drawn is None:
        return {"status": "pending"}
    return {
        "status": "ready",
        "map": drawn,
        "svg": mark_safe(drawn.svg),  # noqa: S308 - built from escaped parts
    }


# ------------------------------------------------------------------------------ feed
def _not_your_feed(request: HttpRequest, login: str) -> HttpResponse | None:
    """A For You page, its exposures and its rebuild are the signed-in owner's alone:
    anyone else is sent to sign in, or told whose it is; nothing is recorded for them."""
    viewer = viewer_login(request)
    if viewer is None:
        return redirect_to_login(request.get_full_path(), login_url=reverse("web-signin"))
    if viewer.lower() != login.lower():
        return render(
            request,
            "web/message.html",
            {
                "title": "Not your feed",
                "text": f"This For You page is {login}'s; yours is at /u/{viewer}/for-you.",
            },
            status=403,
        )
    return None


@require_safe
def for_you(request: HttpRequest, login: str) -> HttpResponse:
    refused = _not_your_feed(request, login)
    if refused is not None:
        return refused
    try:
        # The API's one statement: the viewer, the ranked page and its exposures.
        page = feed_page_serve(viewer=login, limit=30)
    except GazerError:
        return not_found(request, login)
    # The page's URLs reversed once, not once per item: a login is URL-safe as it is.
    profile_base = reverse("web-profile", args=["login"]).removesuffix("login")
    items = [_feed_item(item, profile_base) for item in page.items()]
    person = {
        "login": page.login,
        "name": page.name,
        "url": profile_base + page.login,
        "for_you_url": reverse("web-for-you", args=[page.login]),
        "rebuild_url": reverse("web-for-you-rebuild", args=[page.login]),
    }
    return render(
        request, "web/for_you.html", {"person": person, "items": items, "can_rebuild": True}
    )


def _reason_text(reason: Any) -> str:
    if isinstance(reason, dict):
        reason = reason.get("label") or reason.get("signal") or ""
    reason = str(reason)
    return REASON_LABELS.get(reason, reason.replace("_", " "))


def _feed_item(item: dict[str, Any], profile_base: str) -> dict[str, Any]:
    """The served item plus what the template needs: links, the score as shown and the
    reason texts."""
    reasons = [_reason_text(reason) for reason in item.get("reasons") or []]
    gallery = item.get("gallery") or []
    return {
        **item,
        "reason_texts": [r for r in reasons if r],
        "html_url": github().repo_html_url(item["full_name"]),
        "author_url": profile_base + item["username"],
        "score_text": f"{item['score']:.2f}",
        "shot": gallery[0] if gallery else None,
    }


@require_POST
def for_you_rebuild(request: HttpRequest, login: str) -> HttpResponse:
    refused = _not_your_feed(request, login)
    if refused is not None:
        return refused
    user = _user_or_none(login)
    if user is None:
        return not_found(request, login)
    if not principal_allowed(request, scope="pipeline"):
        messages.error(request, "Too many rebuilds in a short time: try again later.")
    else:
        feed_rebuild_request(viewer=user)
        messages.success(request, "Rebuild queued: the feed updates when the judgments land.")
    return redirect(reverse("web-for-you", args=[user.login]))


# ------------------------------------------------------------------------------- ops
@staff_member_required
@require_safe
def ops_page(request: HttpRequest) -> HttpResponse:
    return render(request, "web/ops.html", ops.ops_context())


@staff_member_required
@require_POST
def ops_pause(request: HttpRequest) -> HttpResponse:
    reason = (request.POST.get("reason") or "").strip()[:200] or f"paused by {request.user}"
    created = star_services.stargazers_pause(reason=reason)
    messages.success(request, "Star-graph processing paused." if created else "Already paused.")
    return redirect("web-ops")


@staff_member_required
@require_POST
def ops_resume(request: HttpRequest) -> HttpResponse:
    enqueued = star_services.stargazers_resume()
    messages.success(request, f"Star-graph processing resumed; {enqueued} repo(s) enqueued.")
    return redirect("web-ops")
