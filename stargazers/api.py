"""Public read endpoints of the star graph (GET, no key needed)."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.schema import error_response
from stargazers import services
from stargazers.selectors import accounts as account_selectors
from stargazers.selectors import repos as repo_selectors

ERROR = error_response('`{"ok": false, "error": {"code", "message", "details"}}`')


class PublicReadApi(APIView):
    permission_classes = [AllowAny]


class AccountStarsProgressApi(PublicReadApi):
    @extend_schema_serializer(component_name="AccountStarsProgressOutput")
    class OutputSerializer(serializers.Serializer):
        login = serializers.CharField()
        state = serializers.ChoiceField(choices=["syncing_starred", "processing", "done"])
        starred_synced_at = serializers.DateTimeField(allow_null=True)
        starred_repos = serializers.IntegerField()
        repos = serializers.IntegerField()
        repos_by_status = serializers.DictField(child=serializers.IntegerField())
        stargazers_stored = serializers.IntegerField()
        progress = serializers.FloatField()

    @extend_schema(
        summary="An account's star-graph progress: its starred repos by status",
        responses={200: OutputSerializer, 400: ERROR, 404: ERROR},
    )
    def get(self, request, login: str):
        return Response(self.OutputSerializer(account_selectors.account_progress(login=login)).data)


class RepoStargazersApi(PublicReadApi):
    @extend_schema_serializer(component_name="RepoStargazersQuery")
    class QuerySerializer(serializers.Serializer):
        page = serializers.IntegerField(min_value=1, max_value=100_000, default=1)

    @extend_schema_serializer(component_name="RepoStargazersOutput")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="RepoStargazersOutputStargazer")
        class StargazerSerializer(serializers.Serializer):
            login = serializers.CharField()
            avatar_url = serializers.CharField()
            state = serializers.CharField()
            starred_at = serializers.DateTimeField(allow_null=True)
            source = serializers.CharField()

        repo = serializers.CharField()
        crawl_status = serializers.CharField(allow_null=True)
        page = serializers.IntegerField()
        per_page = serializers.IntegerField()
        total = serializers.IntegerField()
        pages = serializers.IntegerField()
        stargazers = StargazerSerializer(many=True)

    @extend_schema(
        summary="A repo's stored stargazers, oldest star first (100 per page)",
        parameters=[QuerySerializer],
        responses={200: OutputSerializer, 400: ERROR, 404: ERROR},
    )
    def get(self, request, owner: str, repo: str):
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = query.validated_data["page"]
        data = repo_selectors.repo_stargazers(owner=owner, name=repo, page=page)
        return Response(self.OutputSerializer(data).data)


class RepoStarHistoryApi(PublicReadApi):
    @extend_schema_serializer(component_name="RepoStarHistoryOutput")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="RepoStarHistoryOutputDay")
        class DaySerializer(serializers.Serializer):
            date = serializers.CharField()
            count = serializers.IntegerField()

        repo = serializers.CharField()
        status = serializers.ChoiceField(choices=["ready", "fetching"])
        days = DaySerializer(many=True)

    @extend_schema(
        summary="A repo's daily new stars (GitHub's public stargazers/history)",
        description="Stored days at once; when none are stored yet the fetch is queued and "
        "the answer is 202 with `status: fetching`.",
        responses={200: OutputSerializer, 202: OutputSerializer, 400: ERROR, 404: ERROR},
    )
    def get(self, request, owner: str, repo: str):
        found, days = repo_selectors.repo_star_history(owner=owner, name=repo)
        if not days:
            services.star_history_request(repo_id=found.pk)
            body = {"repo": found.full_name, "status": "fetching", "days": []}
            return Response(self.OutputSerializer(body).data, status=202)
        body = {"repo": found.full_name, "status": "ready", "days": days}
        return Response(self.OutputSerializer(body).data)


class AccountKindredApi(PublicReadApi):
    @extend_schema_serializer(component_name="AccountKindredQuery")
    class QuerySerializer(serializers.Serializer):
        limit = serializers.IntegerField(min_value=1, max_value=100, default=20)

    @extend_schema_serializer(component_name="AccountKindredOutput")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="AccountKindredOutputKindred")
        class KindredSerializer(serializers.Serializer):
            login = serializers.CharField()
            state = serializers.CharField()
            avatar_url = serializers.CharField()
            common_repos = serializers.IntegerField()

        login = serializers.CharField()
        starred_repos = serializers.IntegerField()
        computed_at = serializers.DateTimeField(
            allow_null=True, help_text="When these were computed (refreshed as stars change)"
        )
        kindred = KindredSerializer(many=True)

    @extend_schema(
        summary="Users with the most starred repos in common (both feeds of the graph)",
        parameters=[OpenApiParameter("limit", int, description="1–100, default 20")],
        responses={200: OutputSerializer, 400: ERROR, 404: ERROR},
    )
    def get(self, request, login: str):
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = services.kindred_get_or_compute(login=login, limit=query.validated_data["limit"])
        # Already plain JSON values in the documented shape (the renderer writes the
        # time as the serializer would): serializing twenty nested rows field by field
        # would cost more than reading them.
        return Response(data)
