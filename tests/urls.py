"""A test-only URLconf: one view per kind of bad input the error handler must shape."""

import logging

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView


class EchoApi(APIView):
    def post(self, request):
        return Response({"ok": True, "received": request.data})


class BrokenApi(APIView):
    def get(self, request):
        raise RuntimeError("secret internal detail")


def logged_broken_view(request):
    logging.getLogger("tests.view").info("tests.step", extra={"page": 3, "stored": 300})
    raise RuntimeError("after a log line")


def plain_broken_view(request):
    raise RuntimeError("secret internal detail outside DRF")


urlpatterns = [
    path("echo", EchoApi.as_view()),
    path("broken", BrokenApi.as_view()),
    path("plain-broken", plain_broken_view),
    path("logged-broken", logged_broken_view),
    path("", include("config.urls")),
]

handler404 = "config.errors.handler404"
handler500 = "config.errors.handler500"
