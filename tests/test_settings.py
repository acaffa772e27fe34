"""Settings are read once from the environment and malformed values are refused."""

import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

SETTINGS_FILE = Path(__file__).resolve().parent.parent / "config" / "settings.py"


def load_settings(monkeypatch, **env: str) -> dict:
    for name in (
        "GITHUB_TOKENS",
        "GITHUB_TOKEN",
        "ALLOWED_ORIGINS",
        "API_KEY",
        "ADMIN_API_KEY",
        "LLM_API_KEY",
        "OPENROUTER_API_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "MEDIA_FETCH_ALLOW_PRIVATE",
        "GITHUB_API_URL",
        "TOKEN_ENCRYPTION_KEY",
        "GITHUB_REQUESTS_PER_HOUR",
        "LLM_API_BASE",
        "SECRET_KEY",
        "TOKEN_ENCRYPTION_KEYS_OLD",
        "DEBUG",
        "SECURE_DEPLOYMENT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GAZER_DOTENV", "false")
    # A secret key unless the test says otherwise (SECRET_KEY="" means unset).
    env.setdefault("SECRET_KEY", "a-test-secret-key-of-fifty-or-more-characters-0123456789")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


def test_settings_defaults_match_the_spec_table(monkeypatch):
    s = load_settings(monkeypatch, SECRET_KEY="", DEBUG="true")
    assert s["PUBLIC_SECRETS"] == ["SECRET_KEY", "TOKEN_ENCRYPTION_KEY"]
    assert s["DATABASES"]["default"]["NAME"] == "gazer"
    assert s["DATABASES"]["default"]["HOST"] == "127.0.0.1"
    assert s["REDIS_URL"] == "redis://127.0.0.1:6379/0"
    assert s["GITHUB_API_URL"] == "https://api.github.com"
    assert s["GITHUB_WEB_URL"] == "https://github.com"
    assert s["GITHUB_TOKENS"] == []
    assert s["LLM_API_BASE"] is None and s["LLM_API_KEY"] == ""
    assert s["API_KEY"] == "" and s["ADMIN_API_KEY"] == ""
    assert s["ALLOWED_ORIGINS"] == []
    assert s["MEDIA_FETCH_ALLOW_PRIVATE"] is False
    assert s["GITHUB_REQUESTS_PER_HOUR"] == 4000
    assert len(s["TOKEN_ENCRYPTION_KEY"]) == 64  # derived from SECRET_KEY


def test_settings_lists_and_keys_are_parsed(monkeypatch):
    s = load_settings(
        monkeypatch,
        GITHUB_TOKENS=" a, b ,,c ",
        ALLOWED_ORIGINS="http://localhost:3000,https://gazer.dev",
        OPENROUTER_API_KEY="or-key",
        MEDIA_FETCH_ALLOW_PRIVATE="yes",
        GITHUB_API_URL="http://127.0.0.1:9100/api/v3/",
        DATABASE_URL="postgres://u:p@db.internal:6543/other",
    )
    assert s["GITHUB_TOKENS"] == ["a", "b", "c"]
    assert s["ALLOWED_ORIGINS"] == ["http://localhost:3000", "https://gazer.dev"]
    assert s["CORS_ALLOWED_ORIGINS"] == s["ALLOWED_ORIGINS"]
    assert s["LLM_API_KEY"] == "or-key"
    assert s["MEDIA_FETCH_ALLOW_PRIVATE"] is True
    assert s["GITHUB_API_URL"] == "http://127.0.0.1:9100/api/v3"
    db = s["DATABASES"]["default"]
    assert (db["HOST"], db["PORT"], db["NAME"], db["USER"]) == ("db.internal", 6543, "other", "u")


def test_settings_single_github_token_is_accepted(monkeypatch):
    assert load_settings(monkeypatch, GITHUB_TOKEN="solo")["GITHUB_TOKENS"] == ["solo"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GITHUB_REQUESTS_PER_HOUR", "lots"),
        ("GITHUB_REQUESTS_PER_HOUR", "0"),
        ("MEDIA_FETCH_ALLOW_PRIVATE", "maybe"),
        ("GITHUB_API_URL", "ftp://example.com"),
        ("REDIS_URL", "localhost:6379"),
        ("DATABASE_URL", "mysql://root@localhost/gazer"),
        ("ALLOWED_ORIGINS", "localhost:3000"),
    ],
)
def test_settings_malformed_value_is_refused(monkeypatch, name, value):
    with pytest.raises(ImproperlyConfigured):
        load_settings(monkeypatch, **{name: value})


# Settings read by Django, its contrib apps and the libraries themselves (never by name in
# our code), or read by config/settings.py to build another setting: each with its reader.
READ_BY_THEIR_LIBRARY = {
    "ALLOWED_HOSTS": "django.http.request (host validation)",
    "APPEND_SLASH": "django.middleware.common.CommonMiddleware",
    "ASGI_APPLICATION": "django.core.asgi / runserver",
    "WSGI_APPLICATION": "django.core.servers.basehttp (runserver)",
    "CACHES": "django.core.cache",
    "CORS_ALLOWED_ORIGINS": "corsheaders.middleware.CorsMiddleware",
    "CSRF_COOKIE_SECURE": "django.middleware.csrf",
    "SESSION_COOKIE_SECURE": "django.contrib.sessions.middleware",
    "DATA_UPLOAD_MAX_MEMORY_SIZE": "django.http.request (body size)",
    "DEFAULT_AUTO_FIELD": "django.db.models.options",
    "INSTALLED_APPS": "django.apps",
    "MIDDLEWARE": "django.core.handlers.base",
    "ROOT_URLCONF": "django.urls",
    "TEMPLATES": "django.template",
    "LANGUAGE_CODE": "django.utils.translation",
    "TIME_ZONE": "django.utils.timezone",
    "USE_I18N": "django.utils.translation",
    "USE_TZ": "django.utils.timezone",
    "LOGGING": "django.utils.log.configure_logging",
    "STATIC_URL": "django.contrib.staticfiles",
    "STATIC_ROOT": "django.contrib.staticfiles (collectstatic), whitenoise",
    "SECURE_CONTENT_TYPE_NOSNIFF": "django.middleware.security.SecurityMiddleware",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "django.middleware.security.SecurityMiddleware",
    "SECURE_HSTS_PRELOAD": "django.middleware.security.SecurityMiddleware",
    "SECURE_HSTS_SECONDS": "django.middleware.security.SecurityMiddleware",
    "SECURE_PROXY_SSL_HEADER": "django.http.request.HttpRequest.is_secure",
    "SECURE_REDIRECT_EXEMPT": "django.middleware.security.SecurityMiddleware",
    "SECURE_REFERRER_POLICY": "django.middleware.security.SecurityMiddleware",
    "SECURE_SSL_REDIRECT": "django.middleware.security.SecurityMiddleware",
    "SILENCED_SYSTEM_CHECKS": "django.core.checks",
    "X_FRAME_OPTIONS": "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "REST_FRAMEWORK": "rest_framework.settings",
    "SPECTACULAR_SETTINGS": "drf_spectacular.settings",
    "AUTHENTICATION_BACKENDS": "django.contrib.auth",
    "LOGIN_URL": "django.contrib.auth (redirect to sign in)",
    "LOGIN_REDIRECT_URL": "allauth.account.adapter (after sign-in)",
    "ACCOUNT_ADAPTER": "allauth.account.app_settings",
    "ACCOUNT_EMAIL_VERIFICATION": "allauth.account.app_settings",
    "ACCOUNT_LOGIN_METHODS": "allauth.account.app_settings",
    "ACCOUNT_LOGOUT_ON_GET": "allauth.account.app_settings",
    "ACCOUNT_LOGOUT_REDIRECT_URL": "allauth.account.app_settings",
    "ACCOUNT_SIGNUP_FIELDS": "allauth.account.app_settings",
    "SOCIALACCOUNT_ADAPTER": "allauth.socialaccount.app_settings",
    "SOCIALACCOUNT_AUTO_SIGNUP": "allauth.socialaccount.app_settings",
    "SOCIALACCOUNT_EMAIL_AUTHENTICATION": "allauth.socialaccount.app_settings",
    "SOCIALACCOUNT_LOGIN_ON_GET": "allauth.socialaccount.app_settings",
    "SOCIALACCOUNT_PROVIDERS": "allauth.socialaccount (the GitHub app and provider class)",
    "SOCIALACCOUNT_QUERY_EMAIL": "allauth.socialaccount.app_settings",
    "SOCIALACCOUNT_STORE_TOKENS": "allauth.socialaccount.app_settings",
    "GITHUB_OAUTH_CLIENT_SECRET": "config/settings.py: SOCIALACCOUNT_PROVIDERS",
    "BASE_DIR": "config/settings.py: TEMPLATES, STATIC_ROOT and the .env path",
    "DB_POOL_MAX_SIZE": "config/settings.py: DATABASES (the pool)",
    "DB_POOL_MIN_SIZE": "config/settings.py: DATABASES (the pool)",
    "DB_POOL_TIMEOUT": "config/settings.py: DATABASES (the pool)",
    "DEV_SECRET_KEY": "config/settings.py: public_secrets",
    "ALLOWED_ORIGINS": "config/settings.py: CORS_ALLOWED_ORIGINS",
    "LOG_FORMAT": "config/settings.py: LOGGING",
    "NUM_PROXIES": "config/settings.py: REST_FRAMEWORK",
    "SECURE_DEPLOYMENT": "config/settings.py: the SECURE_* block",
}


def _defined_settings() -> set[str]:
    """The UPPERCASE names config/settings.py assigns at module level (in any branch)."""
    import ast

    names: set[str] = set()

    def walk(body) -> None:
        for node in body:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(t.id for t in targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.If | ast.Try):
                walk(node.body)
                walk(node.orelse)
                for handler in getattr(node, "handlers", []):
                    walk(handler.body)

    walk(ast.parse(SETTINGS_FILE.read_text()).body)
    return {n for n in names if n.isupper() and not n.startswith("_")}


EXCLUDED = ("config/settings.py", "config/test_settings.py")


def _project_source() -> str:
    """Every project module but the settings and the tests."""
    root = SETTINGS_FILE.parent.parent
    skip = {".venv", "tests", "migrations", "staticfiles", "node_modules"}
    texts = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if skip & set(relative.parts) or path.name.startswith("test_"):
            continue
        if path.name == "conftest.py" or relative.as_posix() in EXCLUDED:
            continue
        texts.append(path.read_text())
    return "\n".join(texts)


def test_every_setting_is_read_by_something():
    import re

    defined = _defined_settings()
    assert {"GITHUB_API_URL", "GIT_CLONE_MAX_MB", "INSTALLED_APPS"} <= defined
    assert set(READ_BY_THEIR_LIBRARY) <= defined, "allow-listed names that are gone"
    source = _project_source()
    unread = sorted(
        name
        for name in defined - set(READ_BY_THEIR_LIBRARY)
        # `settings.NAME`, or the name as a string (getattr(settings, "NAME"))
        if not re.search(rf"settings\.{name}\b|[\"']{name}[\"']", source)
    )
    assert unread == [], f"settings nothing reads: {unread}"
