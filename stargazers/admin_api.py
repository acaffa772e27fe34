"""The star graph's admin API under /admin-api/ (Bearer ADMIN_API_KEY).

`<id>` is a repo's `owner/name` or its numeric GitHub id; a user id is the login.
Success bodies are `{success, message}` (plus data); errors use the one JSON error
shape.
"""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.auth import AdminApiKey
from config.errors import BadRequest
from config.schema import error_response
from stargazers import services
from stargazers.models import StargazerCrawl
from stargazers.selectors import admin_stats, crawls
from stargazers.selectors.diagnostics import diagnostics_history
from users.selectors import username_validate
from workers import queues

ERROR = error_response('`{"ok": false, "error": {"code", "message", "details"}}`')
AUTH_ERRORS = {401: ERROR, 403: ERROR}


class AdminApi(APIView):
    throttle_scope = "admin"
    permission_classes = [AdminApiKey]


@extend_schema_serializer(component_name="AdminCrawlRow")
class CrawlRowSerializer(serializers.Serializer):
    """One processing row as `crawls.crawl_row` gives it (the schema of the answers)."""

    repo = serializers.CharField()
    github_id = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=StargazerCrawl.Status.values)
    priority = serializers.CharField()
    repo_stars = serializers.IntegerField()
    account = serializers.CharField(allow_null=True)
    last_page_processed = serializers.IntegerField()
    total_pages = serializers.IntegerField()
    pages_fetched = serializers.IntegerField()
    total_stargazers = serializers.IntegerField(allow_null=True)
    processed_stargazers = serializers.IntegerField()
    claimed_by = serializers.CharField(allow_null=True)
    claimed_at = serializers.DateTimeField(allow_null=True)
    heartbeat_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_null=True)
    error_count = serializers.IntegerField()
    next_retry_after = serializers.DateTimeField(allow_null=True)
    enqueued_at = serializers.DateTimeField(allow_null=True)
    notes = serializers.CharField(allow_null=True)
    updated_at = serializers.DateTimeField()


@extend_schema_serializer(component_name="AdminRepoReprocessOutput")
class RepoReprocessOutputSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    repo = CrawlRowSerializer()


@extend_schema_serializer(component_name="AdminProcessingStats")
class ProcessingStatsSerializer(serializers.Serializer):
    """`admin_stats.processing_stats()` as it is answered."""

    total_accounts_processed = serializers.IntegerField()
    # Public field names kept from the first version of this API (clients read them):
    # the messages waiting on every queue, and the workers running a task.
    factory_queue_depth = serializers.IntegerField(source="queue_depth")
    factory_active_workers = serializers.IntegerField(source="active_workers")
    current_worker_count = serializers.IntegerField()
    idle_workers = serializers.IntegerField()
    queue_depths = serializers.DictField(child=serializers.IntegerField())
    cpu_usage = serializers.FloatField()
    memory_usage_percent = serializers.FloatField()
    memory_used_mb = serializers.IntegerField()
    memory_total_mb = serializers.IntegerField()
    paused = serializers.BooleanField()


class StatsApi(AdminApi):
    @extend_schema_serializer(component_name="AdminStatsOutput")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="AdminStatsOutputDatabase")
        class DatabaseSerializer(serializers.Serializer):
            total_repos = serializers.IntegerField()
            completed_repos = serializers.IntegerField()
            failed_repos = serializers.IntegerField()
            processing_repos = serializers.IntegerField()
            pending_repos = serializers.IntegerField()
            rate_limited_repos = serializers.IntegerField()
            pagination_limited_repos = serializers.IntegerField()
            restricted_repos = serializers.IntegerField()
            total_stargazers = serializers.IntegerField()
            total_github_users = serializers.IntegerField()
            total_star_edges_estimate = serializers.IntegerField()

        @extend_schema_serializer(component_name="AdminStatsOutputQueue")
        class QueueSerializer(serializers.Serializer):
            depth = serializers.IntegerField()
            depths = serializers.DictField(child=serializers.IntegerField())
            active_workers = serializers.IntegerField()
            total_workers = serializers.IntegerField()

        @extend_schema_serializer(component_name="AdminStatsOutputSnapshot")
        class SnapshotSerializer(serializers.Serializer):
            taken_at = serializers.DateTimeField()
            accounts_processed_period = serializers.IntegerField()
            accounts_per_hour = serializers.FloatField()
            workers_total = serializers.IntegerField()
            workers_active = serializers.IntegerField()
            queue_depths = serializers.DictField(child=serializers.IntegerField())
            cpu_percent = serializers.FloatField()
            memory_percent = serializers.FloatField()
            repos_by_status = serializers.DictField(child=serializers.IntegerField())
            stargazers_found = serializers.IntegerField()
            github_budget = serializers.DictField()

        processing = ProcessingStatsSerializer()
        database = DatabaseSerializer()
        queue = QueueSerializer()
        history = SnapshotSerializer(many=True)

    @extend_schema(
        summary="Processing, database and queue figures, with diagnostics history",
        parameters=[OpenApiParameter("history", int, description="snapshots, 0–168 (24)")],
        responses={200: OutputSerializer, **AUTH_ERRORS},
    )
    def get(self, request):
        processing = admin_stats.processing_stats()
        limit = _int_param(request, "history", default=24, low=0, high=168)
        body = {
            "processing": processing,
            "database": admin_stats.database_stats(),
            "queue": {
                "depth": processing["queue_depth"],
                "depths": processing["queue_depths"],
                "active_workers": processing["active_workers"],
                "total_workers": processing["current_worker_count"],
            },
            "history": diagnostics_history(limit=limit),
        }
        return Response(self.OutputSerializer(body).data)


class StatsSummaryApi(AdminApi):
    @extend_schema(
        summary="The processing stats object",
        responses={200: ProcessingStatsSerializer, **AUTH_ERRORS},
    )
    def get(self, request):
        return Response(ProcessingStatsSerializer(admin_stats.processing_stats()).data)


class WorkersApi(AdminApi):
    @extend_schema_serializer(component_name="AdminWorkersOutput")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="AdminWorkersOutputWorker")
        class WorkerSerializer(serializers.Serializer):
            name = serializers.CharField()
            processes = serializers.IntegerField()
            max_concurrency = serializers.IntegerField(allow_null=True)
            autoscaler = serializers.DictField(allow_null=True)
            queues = serializers.ListField(child=serializers.CharField())
            running_tasks = serializers.IntegerField()

        total_workers = serializers.IntegerField()
        active_workers = serializers.IntegerField()
        idle_workers = serializers.IntegerField()
        queue_depth = serializers.IntegerField()
        cpu_usage = serializers.FloatField()
        memory_usage_percent = serializers.FloatField()
        workers = WorkerSerializer(many=True)

    @extend_schema(
        summary="Celery workers: total, active, idle, queue depth, CPU and memory",
        responses={200: OutputSerializer, **AUTH_ERRORS},
    )
    def get(self, request):
        stats = admin_stats.processing_stats()
        body = {
            "total_workers": stats["current_worker_count"],
            "active_workers": stats["active_workers"],
            "idle_workers": stats["idle_workers"],
            "queue_depth": stats["queue_depth"],
            "cpu_usage": stats["cpu_usage"],
            "memory_usage_percent": stats["memory_usage_percent"],
            "workers": admin_stats.workers_detail(),
        }
        return Response(self.OutputSerializer(body).data)


class WorkersScaleApi(AdminApi):
    @extend_schema_serializer(component_name="WorkersScaleInput")
    class InputSerializer(serializers.Serializer):
        concurrency = serializers.IntegerField(min_value=1, max_value=256, required=False)
        delta = serializers.IntegerField(min_value=-256, max_value=256, required=False)
        max = serializers.IntegerField(min_value=1, max_value=256, required=False)
        min = serializers.IntegerField(min_value=0, max_value=256, required=False)
        workers = serializers.ListField(
            child=serializers.CharField(max_length=200), required=False, allow_empty=False
        )

        def validate(self, attrs):
            if not any(k in attrs for k in ("concurrency", "delta", "max", "min")):
                raise serializers.ValidationError(
                    "Give `concurrency`, `delta`, or an autoscale range `max`/`min`."
                )
            if "max" in attrs and "min" in attrs and attrs["min"] > attrs["max"]:
                raise serializers.ValidationError(
                    {"min": f"min ({attrs['min']}) must not exceed max ({attrs['max']})."}
                )
            return attrs

    @extend_schema_serializer(component_name="WorkersScaleOutput")
    class OutputSerializer(serializers.Serializer):
        @extend_schema_serializer(component_name="WorkersScaleOutputWorker")
        class ResultSerializer(serializers.Serializer):
            worker = serializers.CharField()
            before = serializers.IntegerField()
            mode = serializers.ChoiceField(choices=["autoscale", "pool"])
            max = serializers.IntegerField(required=False, help_text="autoscale mode")
            min = serializers.IntegerField(required=False, help_text="autoscale mode")
            requested = serializers.IntegerField(required=False, help_text="pool mode")
            change = serializers.IntegerField(required=False, help_text="pool mode")

        success = serializers.BooleanField()
        message = serializers.CharField()
        workers = ResultSerializer(many=True)

    @extend_schema(
        summary="Resize worker pools (pool_grow/pool_shrink, or the --autoscale range)",
        request=InputSerializer,
        responses={200: OutputSerializer, 400: ERROR, 409: ERROR, **AUTH_ERRORS},
    )
    def post(self, request):
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        results = services.workers_scale(
            concurrency=data.get("concurrency"),
            delta=data.get("delta"),
            autoscale_max=data.get("max"),
            autoscale_min=data.get("min"),
            destination=data.get("workers"),
        )
        body = {"success": True, "message": f"Scaled {len(results)} worker(s)", "workers": results}
        return Response(self.OutputSerializer(body).data)


class QueueApi(AdminApi):
    @extend_schema_serializer(component_name="AdminQueueOutput")
    class OutputSerializer(serializers.Serializer):
        depth = serializers.IntegerField()
        depths = serializers.DictField(child=serializers.IntegerField())
        active_workers = serializers.IntegerField()
        processing_rate = serializers.FloatField()
        processing_rate_unit = serializers.CharField()
        due_repos = serializers.IntegerField()
        paused = serializers.BooleanField()

    @extend_schema(
        summary="Queue depths per priority", responses={200: OutputSerializer, **AUTH_ERRORS}
    )
    def get(self, request):
        stats = admin_stats.processing_stats()
        body = {
            "depth": stats["queue_depth"],
            "depths": stats["queue_depths"],
            "active_workers": stats["active_workers"],
            "processing_rate": admin_stats.processing_rate_per_hour(),
            "processing_rate_unit": "repos/hour",
            "due_repos": crawls.crawls_due_count(),
            "paused": stats["paused"],
        }
        return Response(self.OutputSerializer(body).data)


class QueueClearApi(AdminApi):
    @extend_schema_serializer(component_name="QueueClearInput")
    class InputSerializer(serializers.Serializer):
        queues = serializers.ListField(
            child=serializers.ChoiceField(choices=list(queues.ALL)),
            required=False,
            allow_empty=False,
        )

    @extend_schema_serializer(component_name="QueueClearOutput")
    class OutputSerializer(serializers.Serializer):
        success = serializers.BooleanField()
        message = serializers.CharField()
        removed = serializers.DictField(child=serializers.IntegerField())

    @extend_schema(
        summary="Purge broker queues (rows stay in the database; pause to stop work)",
        request=InputSerializer,
        responses={200: OutputSerializer, 400: ERROR, **AUTH_ERRORS},
    )
    def post(self, request):
        body = self.InputSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        removed = services.queues_purge(names=body.validated_data.get("queues"))
        body = {
            "success": True,
            "message": f"Purged {sum(removed.values())} message(s)",
            "removed": removed,
        }
        return Response(self.OutputSerializer(body).data)


class PauseApi(AdminApi):
    @extend_schema_serializer(component_name="PauseInput")
    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=200, required=False, allow_blank=True)

    @extend_schema_serializer(component_name="PauseOutput")
    class OutputSerializer(serializers.Serializer):
        success = serializers.BooleanField()
        message = serializers.CharField()
        paused = serializers.BooleanField()

    @extend_schema(
        summary="Pause star-graph work (persisted: restarted workers stay paused)",
        request=InputSerializer,
        responses={200: OutputSerializer, 400: ERROR, **AUTH_ERRORS},
    )
    def post(self, request):
        body = self.InputSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        created = services.stargazers_pause(reason=body.validated_data.get("reason", ""))
        message = "Star-graph processing paused" if created else "Already paused"
        body = {"success": True, "message": message, "paused": True}
        return Response(self.OutputSerializer(body).data)


class ResumeApi(AdminApi):
    @extend_schema_serializer(component_name="ResumeOutput")
    class OutputSerializer(serializers.Serializer):
        success = serializers.BooleanField()
        message = serializers.CharField()
        paused = serializers.BooleanField()
        enqueued = serializers.IntegerField()

    @extend_schema(
        summary="Resume star-graph work and enqueue due repos",
        request=None,
        responses={200: OutputSerializer, **AUTH_ERRORS},
    )
    def post(self, request):
        enqueued = services.stargazers_resume()
        body = {
            "success": True,
            "message": f"Star-graph processing resumed; {enqueued} repo(s) enqueued",
            "paused": False,
            "enqueued": enqueued,
        }
        return Response(self.OutputSerializer(body).data)


class ReposListApi(AdminApi):
    @extend_schema_serializer(component_name="ReposListQuery")
    class QuerySerializer(serializers.Serializer):
        status = serializers.ChoiceField(
            choices=StargazerCrawl.Status.values, required=False, allow_blank=True
        )
        limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)
        offset = serializers.IntegerField(min_value=0, default=0)

    @extend_schema(
        summary="Processing rows, newest started first",
        operation_id="admin_repos_list",
        parameters=[QuerySerializer],
        responses={200: CrawlRowSerializer(many=True), 400: ERROR, **AUTH_ERRORS},
    )
    def get(self, request):
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        rows = crawls.crawls_list(
            status=data.get("status") or None, limit=data["limit"], offset=data["offset"]
        )
        return Response(CrawlRowSerializer(rows, many=True).data)


class RepoDetailApi(AdminApi):
    @extend_schema(
        summary="One repo's processing row",
        operation_id="admin_repo_retrieve",
        responses={200: CrawlRowSerializer, 400: ERROR, 404: ERROR, **AUTH_ERRORS},
    )
    def get(self, request, repo_key: str):
        return Response(CrawlRowSerializer(crawls.crawl_get(key=repo_key)).data)


class RepoReprocessApi(AdminApi):
    @extend_schema_serializer(component_name="RepoReprocessInput")
    class InputSerializer(serializers.Serializer):
        force = serializers.BooleanField(default=False)

    @extend_schema(
        summary="Reset one repo to pending and enqueue it (`force`: from the first page)",
        request=InputSerializer,
        responses={
            200: RepoReprocessOutputSerializer,
            400: ERROR,
            404: ERROR,
            **AUTH_ERRORS,
        },
    )
    def post(self, request, repo_key: str):
        body = self.InputSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        crawl = services.crawl_reprocess(key=repo_key, force=body.validated_data["force"])
        body = {
            "success": True,
            "message": f"Repository {crawl.repo.full_name} queued for reprocessing",
            "repo": crawls.crawl_row(crawl),
        }
        return Response(RepoReprocessOutputSerializer(body).data)


class RepoResetApi(AdminApi):
    @extend_schema_serializer(component_name="RepoResetOutput")
    class OutputSerializer(serializers.Serializer):
        success = serializers.BooleanField()
        message = serializers.CharField()

    @extend_schema(
        summary="Delete a repo's processing row and its stargazer edges",
        request=None,
        responses={200: OutputSerializer, 400: ERROR, 404: ERROR, **AUTH_ERRORS},
    )
    def post(self, request, repo_key: str):
        services.crawl_reset(key=repo_key)
        body = {"success": True, "message": f"Repository {repo_key} processing status reset"}
        return Response(self.OutputSerializer(body).data)


class UserReprocessApi(AdminApi):
    @extend_schema_serializer(component_name="UserReprocessInput")
    class InputSerializer(serializers.Serializer):
        force = serializers.BooleanField(default=False)

    @extend_schema_serializer(component_name="UserReprocessOutput")
    class OutputSerializer(serializers.Serializer):
        success = serializers.BooleanField()
        message = serializers.CharField()
        reset = serializers.IntegerField()

    @extend_schema(
        summary="Reset and enqueue every repo a user starred (and re-sync an account)",
        request=InputSerializer,
        responses={200: OutputSerializer, 400: ERROR, 404: ERROR, **AUTH_ERRORS},
    )
    def post(self, request, login: str):
        body = self.InputSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        username_validate(login=login)
        count = services.user_crawls_reprocess(login=login, force=body.validated_data["force"])
        body = {
            "success": True,
            "message": f"Reset {count} repositories for user {login}",
            "reset": count,
        }
        return Response(self.OutputSerializer(body).data)


def _int_param(request, name: str, *, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer", code="invalid_input") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}", code="invalid_input")
    return value
