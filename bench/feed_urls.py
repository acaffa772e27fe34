"""The project's URLs plus the benchmark's references: a plain Django view answering the
JSON `GET /for-you/<viewer>` would, read from a file at startup (no database, no DRF: the
ceiling), and one calling the same service without DRF (the framework's share)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.http import JsonResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns

_PAYLOADS = json.loads(Path(os.environ["GAZER_BENCH_FEED_PAYLOADS"]).read_text())


def plain(request, viewer: str):
    return JsonResponse(_PAYLOADS[viewer])


def plain_serve(request, viewer: str):
    """The same service call as `GET /for-you` (ranking, exposures) without DRF."""
    from feed.services import feed_serve

    items = feed_serve(viewer=viewer, limit=30)
    return JsonResponse({"ok": True, "username": viewer, "count": len(items), "repos": items})


urlpatterns = [
    path("bench/plain/<str:viewer>", plain),
    path("bench/serve/<str:viewer>", plain_serve),
    *project_urlpatterns,
]
