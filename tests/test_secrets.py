"""Secrets safe by default: fresh keys from `make setup`, public defaults refused with
DEBUG off, token keys rotatable, Redis key names keyed by the server secret, and a
TLS deployment switch that `check --deploy` accepts."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from config.envfile import ensure_secrets, env_values

ROOT = Path(__file__).resolve().parent.parent
FRESH = "a-deployment-secret-key-of-fifty-or-more-characters-0123456789abc"


# --- make setup writes fresh secrets ---------------------------------------------------


def test_envfile_writes_fresh_secrets_when_there_is_no_env(tmp_path):
    path = tmp_path / ".env"
    assert ensure_secrets(path) == ["SECRET_KEY", "TOKEN_ENCRYPTION_KEY"]
    values = env_values(path.read_text())
    assert len(values["SECRET_KEY"]) >= 50 and len(values["TOKEN_ENCRYPTION_KEY"]) >= 50
    assert values["SECRET_KEY"] != values["TOKEN_ENCRYPTION_KEY"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    other = tmp_path / "other.env"
    ensure_secrets(other)
    assert env_values(other.read_text())["SECRET_KEY"] != values["SECRET_KEY"]


def test_envfile_never_overwrites_and_fills_only_what_is_missing(tmp_path):
    path = tmp_path / ".env"
    path.write_text(
        "# mine\nSECRET_KEY=keep-this-one\nAPI_KEY=abc\nTOKEN_ENCRYPTION_KEY=\n# SECRET_KEY=x\n"
    )
    assert ensure_secrets(path) == ["TOKEN_ENCRYPTION_KEY"]
    text = path.read_text()
    values = env_values(text)
    assert values["SECRET_KEY"] == "keep-this-one" and values["API_KEY"] == "abc"
    assert values["TOKEN_ENCRYPTION_KEY"]
    assert text.count("TOKEN_ENCRYPTION_KEY=") == 1 and "# mine" in text
    assert ensure_secrets(path) == []
    assert path.read_text() == text


def test_envfile_runs_without_django_as_make_setup_runs_it(tmp_path):
    path = tmp_path / ".env"
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DJANGO_SETTINGS_MODULE")}
    done = subprocess.run(
        [sys.executable, "config/envfile.py", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "generated SECRET_KEY, TOKEN_ENCRYPTION_KEY" in done.stdout
    makefile = (ROOT / "Makefile").read_text()
    setup = makefile.split("\nsetup:", 1)[1].split("\n\n", 1)[0]
    assert "config/envfile.py" in setup.splitlines()[1]  # before anything loads settings


def test_env_example_documents_the_secrets():
    text = (ROOT / ".env.example").read_text()
    for name in ("SECRET_KEY", "TOKEN_ENCRYPTION_KEY", "TOKEN_ENCRYPTION_KEYS_OLD"):
        assert f"{name}=" in text
    for name in ("TOKEN_ENCRYPTION_KEYS_OLD", "SECURE_DEPLOYMENT", "tokens_rotate"):
        assert name in (ROOT / "README.md").read_text()


def test_docker_image_never_gets_the_env_file():
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()


# --- public defaults are refused with DEBUG off ----------------------------------------


def _settings_process(**env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "TOKEN_ENCRYPTION_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE")
    }
    base.update({"GAZER_DOTENV": "false", "DJANGO_SETTINGS_MODULE": "config.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "refused"),
    [
        ({}, "SECRET_KEY and TOKEN_ENCRYPTION_KEY"),
        (
            {"SECRET_KEY": "gazer-dev-secret-key-change-me-in-production"},
            "SECRET_KEY and TOKEN_ENCRYPTION_KEY",
        ),
        ({"TOKEN_ENCRYPTION_KEY": FRESH}, "SECRET_KEY"),
        (
            {
                "SECRET_KEY": FRESH,
                "TOKEN_ENCRYPTION_KEY": hashlib.sha256(
                    b"gazer-token-encryption:gazer-dev-secret-key-change-me-in-production"
                ).hexdigest(),
            },
            "TOKEN_ENCRYPTION_KEY",
        ),
    ],
    ids=["nothing-set", "dev-default", "only-token-key", "derived-public-token-key"],
)
def test_settings_refuse_public_secrets_with_debug_off(env, refused):
    done = _settings_process(**env)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert f"{refused} must be set to a secret value when DEBUG is off" in done.stderr


@pytest.mark.parametrize(
    "env",
    [
        {"DEBUG": "true"},
        {"SECRET_KEY": FRESH},
        {"SECRET_KEY": FRESH, "TOKEN_ENCRYPTION_KEY": FRESH},
    ],
    ids=["debug-on", "secret-key-set", "both-set"],
)
def test_settings_start_with_secrets_or_debug_on(env):
    done = _settings_process(**env)
    assert done.returncode == 0, done.stderr
    assert "started" in done.stdout


def _doctor_secrets() -> tuple[str, str, str]:
    from workers.management.commands.doctor import secrets_check

    return secrets_check()


def test_doctor_reports_public_and_derived_secrets(settings):
    settings.DEBUG = True
    settings.PUBLIC_SECRETS = ["SECRET_KEY", "TOKEN_ENCRYPTION_KEY"]
    name, verdict, detail = _doctor_secrets()
    assert (name, verdict) == ("secrets", "WARN") and "public default" in detail
    settings.DEBUG = False
    assert _doctor_secrets()[1] == "FAIL"
    settings.PUBLIC_SECRETS = []
    settings.TOKEN_ENCRYPTION_KEY_DERIVED = True
    assert _doctor_secrets()[1] == "WARN"
    settings.TOKEN_ENCRYPTION_KEY_DERIVED = False
    settings.TOKEN_ENCRYPTION_KEYS_OLD = ["old"]
    assert _doctor_secrets()[1:] == (
        "ok",
        "SECRET_KEY and TOKEN_ENCRYPTION_KEY set; 1 old token key(s) still decrypt",
    )


# --- token encryption keys rotate without losing tokens --------------------------------


def test_old_token_keys_still_decrypt_and_new_tokens_use_the_current_key(settings):
    from users.tokens import token_decrypt, token_encrypt

    settings.TOKEN_ENCRYPTION_KEY, settings.TOKEN_ENCRYPTION_KEYS_OLD = "key-one", []
    stored = token_encrypt("ghp_rotate_me")
    settings.TOKEN_ENCRYPTION_KEY = "key-two"
    assert token_decrypt(stored) is None  # the old key is not listed: unreadable
    settings.TOKEN_ENCRYPTION_KEYS_OLD = ["key-one"]
    assert token_decrypt(stored) == "ghp_rotate_me"
    fresh = token_encrypt("ghp_new")
    settings.TOKEN_ENCRYPTION_KEYS_OLD = []
    assert token_decrypt(fresh) == "ghp_new"


@pytest.mark.django_db
def test_tokens_rotate_reencrypts_stored_tokens_under_the_current_key(settings, capsys):
    from tests.factories import UserFactory
    from users.models import GitHubUser
    from users.tokens import token_decrypt, token_encrypt

    settings.TOKEN_ENCRYPTION_KEY, settings.TOKEN_ENCRYPTION_KEYS_OLD = "key-one", []
    UserFactory(login="has-token", token_encrypted=token_encrypt("ghp_one"))
    UserFactory(login="no-token")
    settings.TOKEN_ENCRYPTION_KEY, settings.TOKEN_ENCRYPTION_KEYS_OLD = "key-two", ["key-one"]
    call_command("tokens_rotate")
    assert "rotated 1 token(s); 0 under no configured key" in capsys.readouterr().out
    settings.TOKEN_ENCRYPTION_KEYS_OLD = []  # the old key can now be dropped
    stored = GitHubUser.objects.get(login="has-token").token_encrypted
    assert token_decrypt(stored) == "ghp_one"


# --- Redis key names ------------------------------------------------------------------


def test_token_ids_are_an_hmac_under_the_server_secret():
    from workers.github.ratelimit import token_id

    token = "ghp_guessable"
    assert token_id(None) == "anon"
    tid = token_id(token)
    assert len(tid) == 16 and token not in tid
    assert tid != hashlib.sha256(token.encode()).hexdigest()[:16]
    with override_settings(SECRET_KEY=FRESH):
        assert token_id(token) != tid
    assert token_id(token) == tid  # stable for one secret


# --- deployment behind TLS ------------------------------------------------------------


def _check_deploy(**env: str) -> subprocess.CompletedProcess:
    # A deployment's environment: none of the test run's own switches (the browser tests
    # lift Django's async guard for their process, which check --deploy rightly refuses).
    own = ("DEBUG", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
    base = {k: v for k, v in os.environ.items() if k not in own}
    base.update(
        {
            "GAZER_DOTENV": "false",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "SECRET_KEY": FRESH,
            "TOKEN_ENCRYPTION_KEY": FRESH[::-1],
            "ALLOWED_HOSTS": "gazer.example.com",
            "DEBUG": "false",
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_deploy_passes_with_secure_deployment_on():
    done = _check_deploy(SECURE_DEPLOYMENT="true")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_check_deploy_complains_without_secure_deployment():
    done = _check_deploy()
    assert done.returncode != 0
    for check in ("security.W004", "security.W012", "security.W016"):
        assert check in done.stdout + done.stderr


def test_secure_deployment_sets_cookies_hsts_and_the_proxy_header(monkeypatch):
    from tests.test_settings import load_settings

    off = load_settings(monkeypatch)
    assert not off.get("SESSION_COOKIE_SECURE") and not off.get("SECURE_HSTS_SECONDS")
    on = load_settings(monkeypatch, SECURE_DEPLOYMENT="true", SECURE_HSTS_SECONDS="600")
    assert on["SESSION_COOKIE_SECURE"] and on["CSRF_COOKIE_SECURE"]
    assert on["SECURE_HSTS_SECONDS"] == 600 and on["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert on["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert on["SECURE_SSL_REDIRECT"] and "^livez$" in on["SECURE_REDIRECT_EXEMPT"]


@pytest.mark.django_db
def test_behind_the_proxy_http_redirects_and_health_stays_reachable(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_REDIRECT_EXEMPT = [r"^livez$", r"^readyz$", r"^healthz?$"]
    settings.SECURE_HSTS_SECONDS = 600
    assert client.get("/users/octo/data").status_code == 301
    assert client.get("/livez").status_code == 200
    secure = client.get("/users/octo/data", HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 404
    assert secure["Strict-Transport-Security"].startswith("max-age=600")
