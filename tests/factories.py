"""The test data of every app: factory_boy factories, and the stories built from them.

    UserFactory(login="octo")              an active user (the default)
    UserFactory(ghost=True)                a ghost: profiled, not signed in
    UserFactory(discovered=True)           known only from the star graph
    RepoFactory(full_name="acme/widget", stars=40, pushed_days_ago=3)
    CrawlFactory(repo=repo, status="done")
    highlight(user, repo, ...)             the user's highlighted repos, ranked
    star(user, repo, ...)                  star edges
    profile_make()                         a finished profile (pages need no pipeline run)
    activity_store(user, today=...)        the activity document as the step stores it

Values a test reads are fixed (a repo's language, kind and description, its push date
against `NOW`) so that ranking is reproducible; Faker fills only what no test ranks by.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from activity.models import UserActivity
from activity.services import document_build, window_for
from repos.models import GalleryImage, Repo, UserRepo
from stargazers.models import StarEdge, StargazerCrawl, StarHistoryDay
from users.models import GitHubUser, PipelineRun, WorkItem

# The moment repos' push dates count back from (feed ranking decays with push age).
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
# GitHub ids of made-up users and repos start here, above the simulator's.
FIRST_ID = 9_000_000


class UserFactory(DjangoModelFactory):
    class Meta:
        model = GitHubUser

    class Params:
        active = factory.Trait(state=GitHubUser.State.ACTIVE)
        ghost = factory.Trait(state=GitHubUser.State.GHOST)
        discovered = factory.Trait(state=GitHubUser.State.DISCOVERED)

    github_id = factory.Sequence(lambda n: FIRST_ID + n)
    login = factory.Sequence(lambda n: f"user-{FIRST_ID + n}")
    state = GitHubUser.State.ACTIVE
    name = factory.Faker("name")


class RepoFactory(DjangoModelFactory):
    class Meta:
        model = Repo

    class Params:
        stars = 10
        pushed_days_ago = 10

    github_id = factory.Sequence(lambda n: FIRST_ID + n)
    full_name = factory.Sequence(lambda n: f"owner-{FIRST_ID + n}/repo-{FIRST_ID + n}")
    owner_login = factory.LazyAttribute(lambda o: o.full_name.split("/")[0])
    name = factory.LazyAttribute(lambda o: o.full_name.split("/")[1])
    stargazers_count = factory.LazyAttribute(lambda o: o.stars)
    language = "Python"
    kind = "library"
    keywords = factory.LazyFunction(list)
    emphasis = factory.LazyFunction(list)
    description = factory.LazyAttribute(lambda o: f"{o.name} does things")
    pushed_at = factory.LazyAttribute(lambda o: NOW - timedelta(days=o.pushed_days_ago))


class CrawlFactory(DjangoModelFactory):
    class Meta:
        model = StargazerCrawl

    repo = factory.SubFactory(RepoFactory)
    repo_stars = factory.LazyAttribute(lambda o: o.repo.stargazers_count)


class UserRepoFactory(DjangoModelFactory):
    class Meta:
        model = UserRepo

    user = factory.SubFactory(UserFactory)
    repo = factory.SubFactory(RepoFactory)
    include_reason = UserRepo.Reason.OWNED
    commit_days = 7


def highlight(user: GitHubUser, *repos: Repo, reason: str = "owned") -> list[UserRepo]:
    """Link `repos` to `user` as highlights, ranked after the ones it has."""
    start = UserRepo.objects.filter(user=user, highlight_rank__isnull=False).count()
    return [
        UserRepoFactory(user=user, repo=repo, include_reason=reason, highlight_rank=start + i)
        for i, repo in enumerate(repos, start=1)
    ]


def star(user: GitHubUser, *repos: Repo) -> None:
    """`user` starred `repos` (edges from its own starred list)."""
    StarEdge.objects.bulk_create(
        [StarEdge(user=user, repo=repo, source="starred") for repo in repos], ignore_conflicts=True
    )


def shot(n: int) -> str:
    """An image URL that loads with no network (an inline SVG), distinct per `n`."""
    return (
        "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='320' "
        f"height='200'%3E%3Crect width='320' height='200' fill='%2340c4{n:02d}'/%3E%3C/svg%3E"
    )


def profile_make(*, login: str = "octo-dev", run_status: str = "succeeded", highlights: int = 2):
    """A user with a finished run, `highlights` described repos with a gallery and a star
    history, and one kindred developer (a discovered stargazer sharing a star)."""
    user = UserFactory(
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
    kindred = UserFactory(login=f"{login}-friend", discovered=True, avatar_url="")
    repos = []
    for rank in range(1, highlights + 1):
        repo = RepoFactory(
            full_name=f"{login}/project-{rank}",
            blurb=f"Project {rank} does one thing well in Python.",
            emphasis=["Python", "Django"],
            keywords=["caching", "api design"],
            kind="web service",
            link=f"https://project-{rank}.example.org",
            stars=40 + rank,
        )
        UserRepoFactory(user=user, repo=repo, commit_days=9, highlight_rank=rank)
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
