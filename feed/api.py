"""For You endpoints. Thin: validate, call a service or selector, answer.

The serializers describe the answers for the browsable API and the OpenAPI schema; the
page itself is built by the selector as plain dicts (serializing a hundred nested items
field by field would cost more than ranking them).
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.principals import acts_for
from config.schema import error_response
from feed import errors, selectors, services
from repos.serializers import GalleryImageOut

TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"0", "false", "no", "off", ""}


BAD_INPUT = error_response(
    "invalid_username: not a valid GitHub username; invalid_limit: limit is not an "
    "integer from 1 to 100; invalid_wait: wait is not true/false"
)
UNKNOWN = error_response("user_not_found: no such viewer")
NOT_ALLOWED = error_response("method_not_allowed: only GET and POST")
AUTH = error_response(
    "unauthorized / forbidden: API_KEY is set and the bearer key is missing or wrong"
)


class ForYouItemSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="owner/name")
    full_name = serializers.CharField()
    owner = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    language = serializers.CharField(allow_null=True)
    stargazers_count = serializers.IntegerField()
    fork = serializers.BooleanField()
    archived = serializers.BooleanField()
    topics = serializers.ListField(child=serializers.CharField())
    homepage = serializers.CharField(allow_null=True)
    pushed_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)
    include_reason = serializers.CharField()
    user_commit_days = serializers.IntegerField(allow_null=True)
    generated_description = serializers.CharField()
    blurb = serializers.CharField()
    emphasis = serializers.ListField(child=serializers.CharField())
    keywords = serializers.ListField(child=serializers.CharField())
    kind = serializers.CharField()
    link = serializers.CharField(allow_null=True)
    gallery = GalleryImageOut(many=True)
    enriched_at = serializers.DateTimeField(allow_null=True)
    username = serializers.CharField(help_text="The author who highlighted the repo")
    is_ghost = serializers.BooleanField(help_text="The author's real ghost flag")
    score = serializers.FloatField(help_text="Stage 1's score less the fatigue penalty")
    reasons = serializers.ListField(
        child=serializers.CharField(),
        help_text="Signals that placed it, strongest first: llm (judged in), language, "
        "keywords, emphasis, kind, theme, starred_by_kindred, stargazer_overlap, "
        "author_starred_by_kindred, recency",
    )
    judged = serializers.BooleanField(
        allow_null=True, help_text="The LLM's verdict; null: not judged (stage 1 only)"
    )


class ForYouOutputSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    username = serializers.CharField()
    count = serializers.IntegerField()
    repos = ForYouItemSerializer(many=True)


class ForYouRebuildSerializer(serializers.Serializer):
    username = serializers.CharField()
    status = serializers.ChoiceField(choices=["idle", "running", "succeeded", "failed"])
    queued = serializers.BooleanField(help_text="A rebuild is waiting to run")
    queued_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    builds = serializers.IntegerField()
    stats = serializers.DictField(
        help_text="The last build: candidates, judge_top, cached, judged, batches, "
        "llm_calls, fallback_batches, seconds"
    )
    error = serializers.CharField(allow_null=True)


class ForYouRebuildQueuedSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    status = serializers.ChoiceField(choices=["queued"])
    follow = serializers.CharField(help_text="GET this URL to follow the rebuild")
    rebuild = ForYouRebuildSerializer()


class ForYouRebuiltSerializer(ForYouOutputSerializer):
    status = serializers.ChoiceField(choices=["completed"])
    rebuild = ForYouRebuildSerializer()


def _envelope(page, items) -> dict:
    return {"ok": True, "username": page.login, "count": page.count, "repos": items}


def _wait_param(raw: str | None) -> bool:
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise errors.InvalidWait(details={"wait": raw})


class ForYouApi(APIView):
    throttle_scope = "write"

    @extend_schema(
        summary="The viewer's For You feed (ranked with fatigue; exposures recorded)",
        description="Judged-included first, then stage 1's ranking, each by score less a "
        "fatigue penalty (18 hours per time shown plus 24 hours fading with a day's time "
        "constant since last shown). A viewer never built gets stage 1 at once and a "
        "rebuild queued; a grown candidate set queues a rebuild too. Exposures are "
        "recorded when the caller acts for the viewer: the frontend presenting API_KEY, "
        "the viewer signed in on the site, or anyone while no API_KEY is set; any other "
        "caller sees the page and records nothing.",
        parameters=[
            OpenApiParameter("limit", OpenApiTypes.INT, description="1–100, default 30"),
        ],
        responses={200: ForYouOutputSerializer, 400: BAD_INPUT, 404: UNKNOWN, 405: NOT_ALLOWED},
    )
    def get(self, request, viewer: str):
        limit = services.limit_parse(request.query_params.get("limit"))
        if acts_for(request, viewer):
            page = services.feed_page_serve(viewer=viewer, limit=limit)
        else:  # someone else's feed: shown, never recorded in the viewer's name
            page = services.feed_page_peek(viewer=viewer, limit=limit)
        if request.accepted_renderer.format != "json":  # the browsable API
            return Response(_envelope(page, page.items()))
        # The items arrive as the JSON text Postgres built: passed through, not re-encoded.
        body = (
            f'{{"ok":true,"username":{json.dumps(page.login)},"count":{page.count},'
            f'"repos":{page.repos_json}}}'
        )
        return HttpResponse(body, content_type="application/json")

    @extend_schema(
        summary="Rebuild the viewer's feed through Celery (stage 1 + batched LLM judgments)",
        description="Answers 202 with the rebuild row and where to follow it; with "
        "`?wait=true` waits for the rebuild (up to FEED_REBUILD_WAIT_SECONDS) and answers "
        "the rebuilt feed, or 202 if it did not finish in time. At most one rebuild is "
        "queued per viewer: a second request joins the queued one.",
        request=None,
        parameters=[
            OpenApiParameter("wait", OpenApiTypes.BOOL, description="wait for the rebuild"),
            OpenApiParameter("limit", OpenApiTypes.INT, description="1–100, default 30"),
        ],
        responses={
            200: ForYouRebuiltSerializer,
            202: ForYouRebuildQueuedSerializer,
            400: BAD_INPUT,
            401: AUTH,
            403: AUTH,
            404: UNKNOWN,
            405: NOT_ALLOWED,
        },
    )
    def post(self, request, viewer: str):
        wait = _wait_param(request.query_params.get("wait"))
        limit = services.limit_parse(request.query_params.get("limit"))
        user = services.viewer_resolve(viewer)
        since = timezone.now()
        services.feed_rebuild_request(viewer=user, trigger="post")
        if wait and services.feed_rebuild_wait(
            viewer=user, since=since, timeout=settings.FEED_REBUILD_WAIT_SECONDS
        ):
            items = services.feed_serve(viewer=user, limit=limit)
            return Response(
                {
                    "ok": True,
                    "status": "completed",
                    "username": user.login,
                    "count": len(items),
                    "repos": items,
                    "rebuild": selectors.rebuild_row(viewer=user),
                }
            )
        return Response(
            {
                "ok": True,
                "status": "queued",
                "follow": f"/for-you/{user.login}/rebuild",
                "rebuild": selectors.rebuild_row(viewer=user),
            },
            status=202,
        )


class ForYouRebuildApi(APIView):
    @extend_schema(
        summary="The viewer's feed rebuild: queued, running, or the last build's numbers",
        responses={200: ForYouRebuildSerializer, 400: BAD_INPUT, 404: UNKNOWN, 405: NOT_ALLOWED},
    )
    def get(self, request, viewer: str):
        user = services.viewer_resolve(viewer)
        return Response(selectors.rebuild_row(viewer=user))
