"""The landing page: what Gazer holds and where an operator looks next.

It counts profiles, repos and crawls, so it sits in the top app that knows all three
(the web pages app takes it over once it lands)."""

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
