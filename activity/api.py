"""`GET /users/<u>/activity`: the activity document, with what it covers beside it."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from activity.selectors import user_activity_envelope_json, user_activity_get
from users.api import AUTH, INVALID, UNKNOWN
from users.selectors import user_get, username_validate


class DaySerializer(serializers.Serializer):
    repos = serializers.ListField(child=serializers.CharField())
    languages = serializers.ListField(child=serializers.CharField())


class ActivityDocumentSerializer(serializers.Serializer):
    """The document's fixed schema: clients parse it strictly, so nothing is added here."""

    version = serializers.IntegerField(help_text="always 1")
    window_years = serializers.IntegerField()
    days = serializers.DictField(child=DaySerializer(), help_text="ISO date → repos, languages")
    repo_days = serializers.DictField(child=serializers.ListField(child=serializers.DateField()))
    language_days = serializers.DictField(
        child=serializers.ListField(child=serializers.DateField())
    )


class UserActivityApi(APIView):
    class UserActivityOutputSerializer(serializers.Serializer):
        ok = serializers.BooleanField()
        activity = ActivityDocumentSerializer(
            allow_null=True, help_text="null until the user_activity step has run"
        )
        coverage = serializers.DictField(
            allow_null=True,
            help_text="what the document covers: window, repos scanned, unchanged, without "
            "languages (clone failed or too large), skipped (empty, gone, blocked), "
            "deferred, commits counted and left out by the caps",
        )

    @extend_schema(
        summary="The user's two-year activity heatmap document and its coverage",
        responses={
            200: UserActivityOutputSerializer,
            400: INVALID,
            401: AUTH,
            403: AUTH,
            404: UNKNOWN,
        },
    )
    def get(self, request, login: str):
        if getattr(request.accepted_renderer, "format", "json") != "api":
            # The stored JSON goes out as it is, in one query: decoding and encoding it
            # again per request would cost more than the read.
            body = user_activity_envelope_json(login=username_validate(login=login))
            if body is not None:
                return HttpResponse(body, content_type="application/json")
        user = user_get(login=login)  # 400 / 404, or a user whose step has not run yet
        return Response({"ok": True, **user_activity_get(user=user)})
