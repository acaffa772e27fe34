"""The landing page: what Gazer holds and where an operator looks next."""

from django.shortcuts import render

from repos.models import Repo
from stargazers.models import StargazerCrawl
from users.models import GitHubUser


def home(request):
    context = {
        "profiles": GitHubUser.objects.exclude(state=GitHubUser.State.DISCOVERED).count(),
        "repos": Repo.objects.count(),
        "crawls": StargazerCrawl.objects.count(),
    }
    return render(request, "home.html", context)
