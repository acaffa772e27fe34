from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from workers.api import HealthApi, LivenessApi, ReadinessApi

urlpatterns = [
    path("livez", LivenessApi.as_view(), name="livez"),
    path("readyz", ReadinessApi.as_view(), name="readyz"),
    path("health", HealthApi.as_view(), name="health"),
    path("healthz", HealthApi.as_view(), name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path(
        "api/redoc/",
        SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"),
        name="api-redoc",
    ),
    path("admin/", admin.site.urls),
    # Accounts come only from GitHub: allauth's own sign-in and sign-up pages lead to
    # Gazer's sign-in page.
    path("accounts/login/", RedirectView.as_view(pattern_name="web-signin", query_string=True)),
    path("accounts/signup/", RedirectView.as_view(pattern_name="web-signin", query_string=True)),
    path("accounts/", include("allauth.urls")),
    path("admin-api/", include("stargazers.admin_urls")),
    path("", include("users.urls")),
    path("", include("activity.urls")),
    path("", include("feed.urls")),
    path("", include("stargazers.urls")),
    path("", include("web.urls")),
]

handler400 = "config.errors.handler400"
handler403 = "config.errors.handler403"
handler404 = "config.errors.handler404"
handler500 = "config.errors.handler500"
