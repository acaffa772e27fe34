from django.urls import path

from repos.api import RepoGalleryApi

urlpatterns = [
    path(
        "users/<str:username>/repos/<str:owner>/<str:repo>/gallery",
        RepoGalleryApi.as_view(),
        name="repo-gallery",
    ),
]
