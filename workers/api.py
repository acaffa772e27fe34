"""Liveness, readiness and health endpoints (their answer shapes: workers/health.py)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from workers import health


class LivenessApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Liveness probe",
        responses=inline_serializer("Liveness", {"status": serializers.CharField()}),
    )
    def get(self, request):
        return Response({"status": "alive"})


class ReadinessApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Readiness probe: database and Redis reachable (503 otherwise)",
        responses={
            (200, "application/json"): inline_serializer(
                "Readiness",
                {
                    "ready": serializers.BooleanField(),
                    "message": serializers.CharField(required=False),
                },
            ),
            (503, "application/json"): inline_serializer(
                "NotReady",
                {"ready": serializers.BooleanField(), "message": serializers.CharField()},
            ),
        },
    )
    def get(self, request):
        body, status = health.readiness()
        return Response(body, status=status)


class HealthApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Health: database, Redis and Celery workers (503 only when unhealthy)",
        responses={(200, "application/json"): dict, (503, "application/json"): dict},
    )
    def get(self, request):
        body, status = health.health_report()
        return Response(body, status=status)
