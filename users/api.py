"""HTTP endpoints of the profile pipeline. Thin: validate, call a
service or selector, answer; every error is the shared JSON error shape."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.errors import BadRequest
from config.schema import error_response
from config.throttles import throttle_refund
from users import pipeline, selectors, services
from users.serializers import (
    GhostUserCreateOutputSerializer,
    RunOutputSerializer,
    RunRestartOutputSerializer,
    UserDataOutputSerializer,
    UserDeleteOutputSerializer,
    UserLoginOutputSerializer,
    UserProgressOutputSerializer,
)

INVALID = error_response("invalid_username: not a valid GitHub username (1-39 chars, a-z 0-9 -)")
UNKNOWN = error_response("user_not_found: no such user")
AUTH = error_response(
    "unauthorized / forbidden: API_KEY is set and the bearer key is missing or wrong"
)

TRUE_VALUES = {"1", "true", "yes", "on"}


class StrictCharField(serializers.CharField):
    """A string, and only a string: numbers, lists and objects are refused, not coerced."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class UserLoginApi(APIView):
    throttle_scope = "pipeline"

    class UserLoginInputSerializer(serializers.Serializer):
        github_token = StrictCharField(
            required=False,
            allow_blank=True,
            max_length=500,
            write_only=True,
            help_text="The account's own GitHub OAuth token; stored encrypted, never echoed.",
        )

    @extend_schema(
        summary="Sign a user in: new → create and run; ghost → activate; existing → refresh",
        request=UserLoginInputSerializer,
        responses={200: UserLoginOutputSerializer, 400: INVALID, 401: AUTH, 403: AUTH},
    )
    def post(self, request, login: str):
        selectors.username_validate(login=login)
        data = {} if request.data is None else request.data
        if not isinstance(data, dict):
            raise BadRequest("The JSON body must be an object.", code="invalid_body")
        serializer = self.UserLoginInputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        result = services.user_login(
            login=login, github_token=serializer.validated_data.get("github_token") or None
        )
        if not result.changed:
            throttle_refund(request)
        return Response(UserLoginOutputSerializer(result).data)


class UserStartApi(APIView):
    throttle_scope = "pipeline"

    @extend_schema(
        summary="Start the user's pipeline (joins the active run; succeeded steps are skipped)",
        request=None,
        responses={202: RunOutputSerializer, 400: INVALID, 401: AUTH, 403: AUTH},
    )
    def post(self, request, login: str):
        run = services.user_start(login=login)
        return Response(RunOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class UserRestartApi(APIView):
    throttle_scope = "pipeline"

    @extend_schema(
        summary="Clear derived data and run again (?from=<step>: that step and downstream)",
        parameters=[
            OpenApiParameter(
                "from",
                OpenApiTypes.STR,
                enum=list(pipeline.steps_all()),
                required=False,
                description="Rerun this step and everything downstream of it.",
            )
        ],
        request=None,
        responses={
            202: RunRestartOutputSerializer,
            400: error_response("invalid_username or unknown_step"),
            404: UNKNOWN,
            401: AUTH,
            403: AUTH,
        },
    )
    def post(self, request, login: str):
        from_step = request.query_params.get("from") or None
        run = services.user_restart(login=login, from_step=from_step)
        return Response(RunRestartOutputSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class UserDeleteApi(APIView):
    throttle_scope = "pipeline"

    @extend_schema(
        summary="Delete the user and everything only it owns (repos shared with others stay)",
        request=None,
        responses={
            200: UserDeleteOutputSerializer,
            400: INVALID,
            404: UNKNOWN,
            401: AUTH,
            403: AUTH,
        },
    )
    def delete(self, request, login: str):
        return Response(UserDeleteOutputSerializer(services.user_delete(login=login)).data)


class GhostUserCreateApi(APIView):
    throttle_scope = "pipeline"

    @extend_schema(
        summary="Create an inactive (ghost) user and fetch its profile once",
        parameters=[
            OpenApiParameter(
                "force",
                OpenApiTypes.BOOL,
                required=False,
                description="Make an existing user a ghost and refetch instead of 409.",
            )
        ],
        request=None,
        responses={
            201: GhostUserCreateOutputSerializer,
            400: INVALID,
            409: error_response("user_exists: the user exists (pass ?force=true)"),
            401: AUTH,
            403: AUTH,
        },
    )
    def post(self, request, login: str):
        force = (request.query_params.get("force") or "").lower() in TRUE_VALUES
        result = services.ghost_create(login=login, force=force)
        return Response(
            GhostUserCreateOutputSerializer(result).data, status=status.HTTP_201_CREATED
        )


class UserProgressApi(APIView):
    @extend_schema(
        summary="Every pipeline step with status, timings, output, error; the overall state",
        responses={200: UserProgressOutputSerializer, 400: INVALID, 404: UNKNOWN},
    )
    def get(self, request, login: str):
        user = selectors.user_get(login=login)
        return Response(UserProgressOutputSerializer(selectors.user_progress(user=user)).data)


class UserDataApi(APIView):
    @extend_schema(
        summary="The profile: user fields, theme, highlighted repos and all linked repos",
        responses={200: UserDataOutputSerializer, 400: INVALID, 404: UNKNOWN},
    )
    def get(self, request, login: str):
        user = selectors.user_get(login=login)
        return Response(UserDataOutputSerializer(selectors.user_data(user=user)).data)
