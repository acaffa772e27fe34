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
