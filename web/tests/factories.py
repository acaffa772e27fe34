"""A finished profile in the database, for page tests that need no pipeline run."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

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


def activity_document(*, today: date) -> dict:
    days = {
        (today - timedelta(days=1)).isoformat(): {
            "repos": ["octo-dev/project-1", "octo-dev/project-2"],
            "languages": ["Python"],
        },
        (today - timedelta(days=3)).isoformat(): {
            "repos": ["octo-dev/project-2"],
            "languages": ["Python", "Rust"],
        },
    }
    repo_days: dict[str, list[str]] = {}
    language_days: dict[str, list[str]] = {}
    for day, entry in sorted(days.items()):
        for repo in entry["repos"]:
            repo_days.setdefault(repo, []).append(day)
        for language in entry["languages"]:
            language_days.setdefault(language, []).append(day)
    return {
        "version": 1,
        "window_years": 2,
        "days": days,
        "repo_days": repo_days,
        "language_days": language_days,
    }
