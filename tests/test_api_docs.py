"""The API docs pages (Swagger UI, ReDoc) load nothing from another origin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parent.parent
_ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
_URL_IN_JS = re.compile(r"""["'](https?:)?//[^"']*\.(?:js|css)["']""")


@pytest.fixture
def client():
    return APIClient()


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_use_only_our_own_static_files(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assets = [a for a in _ASSET.findall(html) if not a.startswith("#")]
    assert assets, html[:500]
    for asset in assets:
        assert not re.match(r"^(https?:)?//", asset), f"{path} loads {asset} from elsewhere"
    assert not _URL_IN_JS.search(html)
    assert "cdn" not in html.lower() and "@latest" not in html
    static = [a for a in assets if a.startswith("/static/")]
    assert any("drf_spectacular_sidecar" in a for a in static)
    for asset in static:
        name = asset.removeprefix("/static/").split("?", 1)[0]
        assert finders.find(name), f"{asset} is not a static file of ours"


def test_swagger_ui_is_pointed_at_our_schema(client):
    html = client.get("/api/docs/").content.decode()
    assert "/api/schema/" in html


def test_no_template_or_settings_loads_from_a_cdn():
    for path in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")]:
        text = path.read_text()
        for asset in _ASSET.findall(text):
            assert not re.match(r"^(https?:)?//", asset), f"{path}: {asset}"
    from django.conf import settings

    spectacular = settings.SPECTACULAR_SETTINGS
    assert spectacular["SWAGGER_UI_DIST"] == "SIDECAR"
    assert spectacular["REDOC_DIST"] == "SIDECAR"
