"""Admin API for diagnostics history (Bearer ADMIN_API_KEY): the snapshots that
workers.diagnostics records with the star graph's figures."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.auth import AdminApiKey
from workers.diagnostics import diagnostics_record
from workers.models import DiagnosticsSnapshot


class DiagnosticsSnapshotSerializer(serializers.ModelSerializer):
    class Meta:
        model = DiagnosticsSnapshot
        fields = "__all__"


class DiagnosticsListApi(APIView):
    throttle_scope = "admin"
    permission_classes = [AdminApiKey]

    class QuerySerializer(serializers.Serializer):
        limit = serializers.IntegerField(min_value=1, max_value=1000, default=24)

    class DiagnosticsListOutputSerializer(serializers.Serializer):
        snapshots = DiagnosticsSnapshotSerializer(many=True)

    @extend_schema(
        summary="Diagnostics history, newest first",
        parameters=[OpenApiParameter("limit", int, description="1–1000, default 24")],
        responses={200: DiagnosticsListOutputSerializer},
    )
    def get(self, request):
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        snapshots = DiagnosticsSnapshot.objects.order_by("-taken_at")[
            : query.validated_data["limit"]
        ]
        return Response({"snapshots": DiagnosticsSnapshotSerializer(snapshots, many=True).data})

    @extend_schema(
        summary="Record a diagnostics snapshot now",
        request=None,
        responses={201: DiagnosticsSnapshotSerializer},
    )
    def post(self, request):
        snapshot = diagnostics_record()
        return Response(DiagnosticsSnapshotSerializer(snapshot).data, status=201)
