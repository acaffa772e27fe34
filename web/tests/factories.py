"""A finished profile in the database, for page tests that need no pipeline run."""

from __future__ import annotations

import json
from datetime import date, timedelta

from django.utils import timezone

from activity.models import UserActivity
from activity.services import document_build, window_for
from repos.models import GalleryImage, UserRepo
from stargazers.models import StarEdge, StarHistoryDay
from stargazers.tests.factories import repo_make, user_make
from users.models import PipelineRun, WorkItem


def shot(n: int) -> str:
    """An image URL that loads with no network (an inline SVG), distinct per `n`."""
    return (
        "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='320' "
        f"height='200'%3E%3Crect width='320' height='200' fill='%2340c4{n:02d}'/%3E%3C/svg%3E"
    )


def profile_make(*, login: str = "octo-dev", run_status: str = "succeeded", highlights: int = 2):
    """A user with a finished run, `highlights` described repos with a gallery and a star
    history, and one kindred developer (a discovered stargazer sharing a star)."""
    user = user_make(
        login=login,
        name="Octo Developer",
        bio="Builds small fast things.",
        avatar_url="",
        html_url=f"https://github.com/{login}",
        theme="Tools for people who ship",
        public_repos=12,
        followers=34,
    )
    run = PipelineRun.objects.create(user=user, status=run_status, trigger="login")
    WorkItem.objects.create(user=user, run=run, step="fetch_profile", status="succeeded")
    WorkItem.objects.create(
        user=user,
        run=run,
        step="fetch_repos",
        status="succeeded" if run_status == "succeeded" else "running",
    )
    kindred = user_make(login=f"{login}-friend", state="discovered", avatar_url="")
    repos = []
    for rank in range(1, highlights + 1):
        repo = repo_make(
            full_name=f"{login}/project-{rank}",
            language="Python",
            blurb=f"Project {rank} does one thing well in Python.",
            emphasis=["Python", "Django"],
            keywords=["caching", "api design"],
            kind="web service",
            link=f"https://project-{rank}.example.org",
            stars=40 + rank,
        )
        UserRepo.objects.create(
            user=user, repo=repo, include_reason="owned", commit_days=9, highlight_rank=rank
        )
        GalleryImage.objects.create(repo=repo, url=shot(rank), alt=f"Screenshot {rank}")
        start = date(2025, 1, 1)
        StarHistoryDay.objects.bulk_create(
            [
                StarHistoryDay(repo=repo, day=start + timedelta(days=30 * i), stars=3 + i)
                for i in range(6)
            ]
        )
        StarEdge.objects.create(repo=repo, user=user, source="starred", starred_at=timezone.now())
        StarEdge.objects.create(repo=repo, user=kindred, source="stargazers")
        repos.append(repo)
    return user, repos, kindred


def activity_store(user, *, today: date, repo_days: dict | None = None) -> UserActivity:
    """The user's activity document as the activity step stores it (built by the activity
    app's own `document_build`); by default two active days over the first two highlights:
    yesterday both (Python), three days ago the second (Python and Rust)."""
    if repo_days is None:
        yesterday = (today - timedelta(days=1)).isoformat()
        earlier = (today - timedelta(days=3)).isoformat()
        repo_days = {
            f"{user.login}/project-1": {yesterday: ["Python"]},
            f"{user.login}/project-2": {yesterday: ["Python"], earlier: ["Python", "Rust"]},
        }
    start, end = window_for(today)
    document = document_build(repo_days=repo_days, window_start=start, window_end=end)
    activity, _ = UserActivity.objects.update_or_create(
        user=user,
        defaults={
            "document": json.dumps(document, separators=(",", ":")),
            "coverage": {"computed_at": timezone.now().isoformat(), "repos": len(repo_days)},
            "window_start": start,
            "window_end": end,
            "active_days": len(document["days"]),
        },
    )
    return activity


# The simulator's registered OAuth app (ghsim/state.py), public like the simulator.
OAUTH_APP = {"client_id": "ghsim-oauth-app", "secret": "ghsim-oauth-secret"}


def sign_in_as(client, login: str):
    """Sign a test client in as the GitHub user `login`, as a finished GitHub sign-in
    leaves the session (a Django account and the GitHub login in the session)."""
    from django.contrib.auth import get_user_model

    from web.signin.adapter import SESSION_LOGIN

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
