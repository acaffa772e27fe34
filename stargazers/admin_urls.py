"""The star-graph admin API, mounted under /admin-api/."""

from django.urls import path, re_path

from stargazers import admin_api, admin_diagnostics

# A repo is `owner/name` or its numeric GitHub id.
REPO = r"(?P<repo_key>\d+|[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)"

urlpatterns = [
    path(
        "diagnostics",
        admin_diagnostics.DiagnosticsListApi.as_view(),
        name="admin-diagnostics",
    ),
    path("stats", admin_api.StatsApi.as_view(), name="admin-stats"),
    path("stats/summary", admin_api.StatsSummaryApi.as_view(), name="admin-stats-summary"),
    path("workers", admin_api.WorkersApi.as_view(), name="admin-workers"),
    path("workers/scale", admin_api.WorkersScaleApi.as_view(), name="admin-workers-scale"),
    path("queue", admin_api.QueueApi.as_view(), name="admin-queue"),
    path("queue/clear", admin_api.QueueClearApi.as_view(), name="admin-queue-clear"),
    path("pause", admin_api.PauseApi.as_view(), name="admin-pause"),
    path("resume", admin_api.ResumeApi.as_view(), name="admin-resume"),
    path("repos", admin_api.ReposListApi.as_view(), name="admin-repos"),
    re_path(
        rf"^repos/{REPO}/reprocess$",
        admin_api.RepoReprocessApi.as_view(),
        name="admin-repo-reprocess",
    ),
    re_path(rf"^repos/{REPO}/reset$", admin_api.RepoResetApi.as_view(), name="admin-repo-reset"),
    re_path(rf"^repos/{REPO}$", admin_api.RepoDetailApi.as_view(), name="admin-repo-detail"),
    path(
        "users/<str:login>/reprocess",
        admin_api.UserReprocessApi.as_view(),
        name="admin-user-reprocess",
    ),
]
