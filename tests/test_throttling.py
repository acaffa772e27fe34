"""Rate limits: per client, named scopes, counters in the shared Redis cache, 429 JSON
with Retry-After; the rest of the suite runs with limits too high to matter."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings, redis_test_client):
    """Low rates, and no counter left over from another test."""
    for key in redis_test_client.scan_iter("*throttle:*"):
        redis_test_client.delete(key)
    settings.THROTTLE_RATES = {"pipeline": "3/min", "write": "4/min", "admin": "2/min"}
    settings.ADMIN_API_KEY = "adm1n"
    settings.API_KEY = ""
    return settings.THROTTLE_RATES


def client_from(address: str) -> APIClient:
    return APIClient(REMOTE_ADDR=address)


def assert_throttled(response) -> None:
    assert response.status_code == 429, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["ok"] is False and body["error"]["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60


def test_pipeline_calls_are_limited_per_client(rates):
    first = client_from("198.51.100.1")
    for _ in range(3):
        assert first.post("/users/octo/login").status_code == 200
    assert_throttled(first.post("/users/octo/login"))
    assert_throttled(first.post("/ghost-users/someone-else"))  # same scope
    assert_throttled(first.delete("/users/octo"))
    # Another client has its own budget; reads are never limited.
    assert client_from("198.51.100.2").post("/users/octo/login").status_code == 200
    for _ in range(5):
        assert first.get("/users/octo/progress").status_code == 200


def test_forwarded_for_is_not_trusted_without_proxies(rates):
    client = client_from("198.51.100.3")
    for n in range(3):
        client.post("/users/octo/login", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert_throttled(client.post("/users/octo/login", HTTP_X_FORWARDED_FOR="203.0.113.99"))


def test_gallery_writes_have_their_own_scope(rates):
    from tests.factories import RepoFactory, UserFactory

    UserFactory(login="octo")
    RepoFactory(full_name="acme/widget")
    client = client_from("198.51.100.4")
    for _ in range(3):
        client.post("/users/octo/login")
    url = "/users/octo/repos/acme/widget/gallery"
    for n in range(4):
        body = {"url": f"https://example.com/{n}.png"}
        assert client.post(url, body, format="json").status_code in (200, 201)
    assert_throttled(client.patch(url, {"url": "https://example.com/0.png"}, format="json"))
    assert client.get(url).status_code == 200


def test_wrong_keys_count_against_the_limit(rates, settings):
    settings.API_KEY = "s3cret"
    client = client_from("198.51.100.5")
    for _ in range(3):
        response = client.post("/users/octo/start", HTTP_AUTHORIZATION="Bearer guess")
        assert response.status_code == 403
    assert_throttled(client.post("/users/octo/start", HTTP_AUTHORIZATION="Bearer s3cret"))


def test_admin_api_is_limited_reads_and_guesses_included(rates):
    client = client_from("198.51.100.6")
    assert client.get("/admin-api/diagnostics").status_code == 401
    auth = {"HTTP_AUTHORIZATION": "Bearer adm1n"}
    assert client.get("/admin-api/diagnostics", **auth).status_code == 200
    assert_throttled(client.get("/admin-api/diagnostics", **auth))
    assert_throttled(client.post("/admin-api/pause", {}, format="json", **auth))
    other = client_from("198.51.100.7")
    assert other.get("/admin-api/stats/summary", **auth).status_code == 200


def test_the_browsable_api_counts_a_request_once(rates):
    client = client_from("198.51.100.8")
    auth = {"HTTP_AUTHORIZATION": "Bearer adm1n", "HTTP_ACCEPT": "text/html"}
    # The page renders forms (each re-checking permissions): still one request each.
    assert client.get("/admin-api/diagnostics", **auth).status_code == 200
    assert client.get("/admin-api/diagnostics", **auth).status_code == 200
    assert client.get("/admin-api/diagnostics", **auth).status_code == 429


def test_counters_live_in_the_shared_redis_cache_of_the_test_database(rates, redis_test_client):
    backend = django_settings.CACHES["default"]
    assert backend["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert backend["LOCATION"].endswith(f"/{django_settings.TEST_REDIS_DB}")
    client_from("198.51.100.9").post("/users/octo/login")
    keys = [k.decode() for k in redis_test_client.scan_iter("*throttle:pipeline:*")]
    assert keys == ["gazer:1:throttle:pipeline:198.51.100.9"]
    assert cache.get("throttle:pipeline:198.51.100.9")  # the history any process reads


def test_requests_pass_when_the_cache_is_away(rates, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
    client = client_from("198.51.100.10")
    for _ in range(5):
        assert client.post("/users/octo/login").status_code == 200


def test_rates_are_named_settings(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from tests.test_settings import load_settings

    s = load_settings(monkeypatch, THROTTLE_RATE_PIPELINE="5/minute")
    assert s["THROTTLE_RATES"]["pipeline"] == "5/minute"
    assert s["REST_FRAMEWORK"]["DEFAULT_THROTTLE_CLASSES"] == [
        "config.throttles.ClientRateThrottle"
    ]
    with pytest.raises(ImproperlyConfigured):
        load_settings(monkeypatch, THROTTLE_RATE_ADMIN="lots")
    good = {"THROTTLE_RATE_ADMIN": "120/min"}
    proxies = load_settings(monkeypatch, NUM_PROXIES="1", **good)
    assert proxies["REST_FRAMEWORK"]["NUM_PROXIES"] == 1
    for bad in ("one", "-1"):
        with pytest.raises(ImproperlyConfigured, match="NUM_PROXIES"):
            load_settings(monkeypatch, NUM_PROXIES=bad, **good)


def test_behind_a_trusted_proxy_the_forwarded_client_counts(rates, settings):
    from rest_framework.settings import api_settings

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert api_settings.NUM_PROXIES == 1
    proxy = client_from("10.0.0.2")
    for _ in range(3):
        proxy.post("/users/octo/login", HTTP_X_FORWARDED_FOR="203.0.113.20")
    assert_throttled(proxy.post("/users/octo/login", HTTP_X_FORWARDED_FOR="203.0.113.20"))
    other = proxy.post("/users/octo/login", HTTP_X_FORWARDED_FOR="203.0.113.21")
    assert other.status_code == 200


def _drf_views(patterns=None, prefix=""):
    """(route, view class) of every DRF view the URLconf serves."""
    from django.urls import URLPattern, URLResolver, get_resolver
    from rest_framework.views import APIView

    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            yield from _drf_views(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            view = getattr(entry.callback, "cls", None)
            if isinstance(view, type) and issubclass(view, APIView):
                yield prefix + str(entry.pattern), view


MUTATING = ("post", "put", "patch", "delete")


def test_every_mutating_view_declares_a_scope_with_a_rate():
    views = list(_drf_views())
    assert any(route.startswith("admin-api/") for route, _ in views)
    mutating = [(r, v) for r, v in views if any(hasattr(v, m) for m in MUTATING)]
    assert len(mutating) >= 10
    for route, view in mutating:
        assert getattr(view, "throttle_scope", None) in django_settings.THROTTLE_RATES, route
    for route, view in views:
        if route.startswith("admin-api/"):
            assert getattr(view, "throttle_scope", None) == "admin", route


def test_pipeline_scope_is_the_calls_that_spend_github_budget():
    scopes = {view.__name__: getattr(view, "throttle_scope", None) for _, view in _drf_views()}
    for name in ("UserLoginApi", "UserStartApi", "UserRestartApi", "UserDeleteApi"):
        assert scopes[name] == "pipeline"
    assert scopes["GhostUserCreateApi"] == "pipeline"
    assert scopes["RepoGalleryApi"] == "write"
    assert scopes["ForYouApi"] == "write"


def test_the_scope_applies_to_writes_and_to_every_admin_call():
    from config.throttles import throttle_scope

    class Public:
        throttle_scope = "write"

    class Admin:
        throttle_scope = "admin"

    assert throttle_scope(Public, "GET") is None
    assert throttle_scope(Public, "post") == "write"
    assert throttle_scope(Admin, "GET") == "admin"
    assert throttle_scope(object, "POST") is None
