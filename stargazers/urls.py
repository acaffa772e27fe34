from django.urls import path

from stargazers import api

urlpatterns = [
    path(
        "users/<str:login>/stars/progress",
        api.AccountStarsProgressApi.as_view(),
        name="account-stars-progress",
    ),
    path("users/<str:login>/kindred", api.AccountKindredApi.as_view(), name="account-kindred"),
    path(
        "repos/<str:owner>/<str:repo>/stargazers",
        api.RepoStargazersApi.as_view(),
        name="repo-stargazers",
    ),
    path(
        "repos/<str:owner>/<str:repo>/star-history",
        api.RepoStarHistoryApi.as_view(),
        name="repo-star-history",
    ),
]
