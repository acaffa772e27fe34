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
    for n in range(3):
        assert first.post(f"/users/octo-{n}/login").status_code == 200
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
        client.post(f"/users/octo-{n}/login", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
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
    assert_throttled(client.post("/users/octo/start", HTTP_AUTHORIZATION="Bearer guess2"))
    assert_throttled(client.post("/users/octo/start"))
    # The right key is the frontend, which has a bucket of its own.
    assert client.post("/users/octo/start", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 202


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
    for n in range(3):
        proxy.post(f"/users/octo-{n}/login", HTTP_X_FORWARDED_FOR="203.0.113.20")
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


# ------------------------------------------------------------------------ principals
def test_the_frontend_signs_in_a_thousand_users_while_an_address_is_refused(rates, settings):
    """The frontend holding API_KEY has its own, high rate (the default), never an
    anonymous address's bucket, even from the same address."""
    settings.API_KEY = "front-key"
    assert django_settings.THROTTLE_RATE_FRONTEND == "20000/hour"
    frontend = client_from("198.51.100.20")
    anonymous = client_from("198.51.100.20")
    auth = {"HTTP_AUTHORIZATION": "Bearer front-key"}
    refused = 0
    for n in range(1000):
        response = frontend.post(f"/users/person-{n:04d}/login", **auth)
        assert response.status_code == 200, (n, response.content[:200])
        if n < 4:  # the anonymous caller at the same address, between the frontend's calls
            answer = anonymous.post(f"/users/anon-{n}/start", HTTP_AUTHORIZATION="Bearer guess")
            refused += answer.status_code == 429
    assert refused == 1  # 3 guesses allowed (each a 403), the 4th throttled
    assert_throttled(anonymous.post("/users/anon-x/start"))
    from users.models import GitHubUser

    assert GitHubUser.objects.filter(login__startswith="person-").count() == 1000


def test_a_wrong_key_counts_against_the_address_not_the_frontend(rates, settings):
    settings.API_KEY = "front-key"
    settings.THROTTLE_RATE_FRONTEND = "5/min"
    client = client_from("198.51.100.21")
    for n in range(3):
        response = client.post(f"/users/w-{n}/start", HTTP_AUTHORIZATION="Bearer nope")
        assert response.status_code == 403
    assert_throttled(client.post("/users/w-9/start", HTTP_AUTHORIZATION="Bearer nope"))
    auth = {"HTTP_AUTHORIZATION": "Bearer front-key"}
    for n in range(5):
        assert client.post(f"/users/f-{n}/start", **auth).status_code == 202
    # The frontend's own rate applies to it, not the anonymous one.
    assert_throttled(client.post("/users/f-9/start", **auth))


def test_a_signed_in_person_is_limited_per_account(rates, django_user_model):
    ada = django_user_model.objects.create_user(username="ada")
    bob = django_user_model.objects.create_user(username="bob")
    ada_home, ada_phone = client_from("198.51.100.30"), client_from("198.51.100.31")
    ada_home.force_login(ada)
    ada_phone.force_login(ada)
    bob_client = client_from("198.51.100.30")  # bob shares ada's home address
    bob_client.force_login(bob)
    for n in range(2):
        assert ada_home.post(f"/users/a-{n}/login").status_code == 200
    assert ada_phone.post("/users/a-2/login").status_code == 200
    assert_throttled(ada_phone.post("/users/a-3/login"))  # one bucket for the account
    assert_throttled(ada_home.post("/users/a-4/login"))
    for n in range(3):  # bob at the same address has his own
        assert bob_client.post(f"/users/b-{n}/login").status_code == 200
    # The address itself, anonymous, still has its whole budget.
    assert client_from("198.51.100.30").post("/users/c-0/login").status_code == 200


def test_a_login_joining_the_run_already_going_spends_nothing(rates, redis_test_client):
    client = client_from("198.51.100.40")
    assert client.post("/users/busy/login").json()["status"] == "new"
    # The run is queued (no worker here): signing in again changes nothing.
    for _ in range(10):
        response = client.post("/users/busy/login")
        assert response.status_code == 200 and response.json()["status"] == "existing"
    for n in range(2):
        assert client.post(f"/users/other-{n}/login").status_code == 200
    assert_throttled(client.post("/users/other-9/login"))


def test_a_login_that_brings_a_new_token_is_counted(rates):
    client = client_from("198.51.100.41")
    client.post("/users/busy/login")
    body = {"github_token": "sim_busy_fresh"}
    for _ in range(2):
        assert client.post("/users/busy/login", body, format="json").status_code == 200
    # The first brings a token (counted); the second repeats it (given back).
    assert client.post("/users/next-0/login").status_code == 200
    assert_throttled(client.post("/users/next-1/login"))
