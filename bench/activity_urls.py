"""Gazer's URLs plus the benchmark's baseline: a plain Django view that returns the same
stored activity JSON as GET /users/<u>/activity, with no framework around it."""

import json

from django.http import HttpResponse
from django.urls import path

from activity.models import UserActivity
from config.urls import urlpatterns as gazer_urls


def plain_activity(request, login: str) -> HttpResponse:
    row = (
        UserActivity.objects.filter(user__login__iexact=login)
        .values("document", "coverage")
        .first()
    )
    coverage = json.dumps(row["coverage"], separators=(",", ":"))
    body = f'{{"ok":true,"activity":{row["document"]},"coverage":{coverage}}}'
    return HttpResponse(body, content_type="application/json")


urlpatterns = [path("bench-plain/<str:login>/activity", plain_activity), *gazer_urls]
handler400 = "config.errors.handler400"
handler404 = "config.errors.handler404"
handler500 = "config.errors.handler500"
