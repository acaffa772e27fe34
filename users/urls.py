from django.urls import path

from users import api, gallery_api

urlpatterns = [
    path("users/<str:login>/login", api.UserLoginApi.as_view(), name="user-login"),
    path("users/<str:login>/start", api.UserStartApi.as_view(), name="user-start"),
    path("users/<str:login>/restart", api.UserRestartApi.as_view(), name="user-restart"),
    path("users/<str:login>/progress", api.UserProgressApi.as_view(), name="user-progress"),
    path("users/<str:login>/data", api.UserDataApi.as_view(), name="user-data"),
    path(
        "users/<str:username>/repos/<str:owner>/<str:repo>/gallery",
        gallery_api.RepoGalleryApi.as_view(),
        name="repo-gallery",
    ),
    path("users/<str:login>", api.UserDeleteApi.as_view(), name="user-delete"),
    path("ghost-users/<str:login>", api.GhostUserCreateApi.as_view(), name="ghost-user-create"),
]
