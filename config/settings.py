"""Gazer settings: read once from the environment (and `.env` when present).

Every name in SPEC.md's configuration table is read here and nowhere else; a malformed
value stops the process with ImproperlyConfigured instead of misbehaving later.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# GAZER_ENV_FILE names the environment file of the system a command should act on (e.g.
# `.env.demo` while `make demo` runs, through `make manage`): its values win over the
# shell's. `.env` then fills in what is left, under the shell's variables.
# GAZER_DOTENV=false skips `.env` (the test settings do, so no developer's file leaks in).
_ENV_FILE = os.environ.get("GAZER_ENV_FILE", "")
ENV_SOURCES: list[str] = []
if _ENV_FILE:
    _path = Path(_ENV_FILE) if Path(_ENV_FILE).is_absolute() else BASE_DIR / _ENV_FILE
    if not _path.exists():
        raise ImproperlyConfigured(f"GAZER_ENV_FILE names {_ENV_FILE}, which does not exist")
    environ.Env.read_env(_path, overwrite=True)
    ENV_SOURCES.append(f"{_ENV_FILE} (GAZER_ENV_FILE)")
ENV_SOURCES.append("the shell")
_read_dotenv = os.environ.get("GAZER_DOTENV", "true").lower() not in ("0", "false", "no", "off")
if _read_dotenv and (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
    ENV_SOURCES.append(".env")


def _csv(name: str) -> list[str]:
    """A comma-separated variable as a list of non-empty, stripped items."""
    return [item.strip() for item in env.str(name, default="").split(",") if item.strip()]


def _positive_int(name: str, default: int) -> int:
    try:
        value = env.int(name, default=default)
    except (ValueError, environ.ImproperlyConfigured) as exc:
        raise ImproperlyConfigured(f"{name} must be an integer") from exc
    if value <= 0:
        raise ImproperlyConfigured(f"{name} must be positive, got {value}")
    return value


def _float(name: str, default: float, *, minimum: float = 0.0) -> float:
    try:
        value = env.float(name, default=default)
    except (ValueError, environ.ImproperlyConfigured) as exc:
        raise ImproperlyConfigured(f"{name} must be a number") from exc
    if not (value >= minimum) or value == float("inf"):
        raise ImproperlyConfigured(f"{name} must be a finite number >= {minimum}, got {value}")
    return value


def _http_url(name: str, default: str) -> str:
    value = env.str(name, default=default).rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"{name} must be an http(s) URL, got {value!r}")
    return value


def _bool(name: str, default: bool) -> bool:
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


DEBUG = _bool("DEBUG", False)
# The public development default; refused with DEBUG off (see `public_secrets`).
DEV_SECRET_KEY = "gazer-dev-secret-key-change-me-in-production"  # noqa: S105 - public on purpose
SECRET_KEY = env.str("SECRET_KEY", default="") or DEV_SECRET_KEY
ALLOWED_HOSTS = _csv("ALLOWED_HOSTS") or ["127.0.0.1", "localhost", "testserver", "[::1]"]
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
VERSION = "0.1.0"

# --- Database and Redis -------------------------------------------------------------
try:
    DATABASES = {
        "default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/gazer")
    }
except (ImproperlyConfigured, KeyError, ValueError) as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://...)")
DATABASES["default"].setdefault("OPTIONS", {})
# A short connect timeout keeps health checks answering when Postgres is away.
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 3)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True


# Django's psycopg pool, one per process (at most 10 connections, 2 kept idle, 30 s to
# get one). DB_POOL_MAX_SIZE=0 turns it off for persistent connections
# (DATABASE_CONN_MAX_AGE) instead, e.g. behind PgBouncer. Celery's pool processes never
# share one: config/celery.py drops the pool each forked process inherits.
def _int(name: str, default: int) -> int:
    try:
        return env.int(name, default=default)
    except (ValueError, environ.ImproperlyConfigured) as exc:
        raise ImproperlyConfigured(f"{name} must be an integer") from exc


DB_POOL_MAX_SIZE = _int("DB_POOL_MAX_SIZE", 10)
DB_POOL_MIN_SIZE = _int("DB_POOL_MIN_SIZE", 2)
DB_POOL_TIMEOUT = _positive_int("DB_POOL_TIMEOUT", 30)
if DB_POOL_MAX_SIZE < 0:
    raise ImproperlyConfigured(f"DB_POOL_MAX_SIZE must be 0 (off) or more, got {DB_POOL_MAX_SIZE}")
if DB_POOL_MAX_SIZE and not 0 <= DB_POOL_MIN_SIZE <= DB_POOL_MAX_SIZE:
    raise ImproperlyConfigured(
        f"DB_POOL_MIN_SIZE ({DB_POOL_MIN_SIZE}) must be between 0 and DB_POOL_MAX_SIZE "
        f"({DB_POOL_MAX_SIZE})"
    )
if DB_POOL_MAX_SIZE > 0:
    if _int("DATABASE_CONN_MAX_AGE", 0):
        raise ImproperlyConfigured(
            "DATABASE_CONN_MAX_AGE keeps connections per thread, which the pool replaces: "
            "unset it, or set DB_POOL_MAX_SIZE=0"
        )
    # The pool keeps the connections; Django returns each to it at the end of a request.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": DB_POOL_MIN_SIZE,
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": DB_POOL_TIMEOUT,
    }
else:
    # Persistent connections per process; web and workers are long-lived processes.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
# The For You page statement runs on every GET: prepared once per connection, Postgres
# stops planning it per request. Off behind a transaction-pooling PgBouncer older than
# 1.21 (it cannot keep prepared statements); Django's own queries never prepare.
DB_PREPARED_STATEMENTS = _bool("DB_PREPARED_STATEMENTS", True)
if DB_PREPARED_STATEMENTS:
    # Django turns psycopg's preparing off (threshold None); its client-side-binding
    # cursors never prepare whatever the threshold, so this reaches only the statements
    # run on server-side-binding cursors with prepare=True.
    DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"REDIS_URL must be a redis:// URL, got {REDIS_URL!r}")

# --- GitHub -------------------------------------------------------------------------
GITHUB_API_URL = _http_url("GITHUB_API_URL", "https://api.github.com")
GITHUB_WEB_URL = _http_url("GITHUB_WEB_URL", "https://github.com")
GITHUB_TOKENS = _csv("GITHUB_TOKENS") or _csv("GITHUB_TOKEN")
# About 4,000 requests per hour per token, below GitHub's 5,000, so interactive use of
# the same token keeps headroom.
GITHUB_REQUESTS_PER_HOUR = _positive_int("GITHUB_REQUESTS_PER_HOUR", 4000)
GITHUB_TIMEOUT_SECONDS = _positive_int("GITHUB_TIMEOUT_SECONDS", 30)
# How a first profile reads GitHub: "graphql" batches it into a few points; "rest" asks
# per repository (several requests each). Refreshes use REST's free 304s either way.
GITHUB_PROFILE_FETCH = env.str("GITHUB_PROFILE_FETCH", default="graphql")
if GITHUB_PROFILE_FETCH not in ("graphql", "rest"):
    raise ImproperlyConfigured(
        f"GITHUB_PROFILE_FETCH must be graphql or rest, got {GITHUB_PROFILE_FETCH!r}"
    )
# A clone (workers/github/git.py) is stopped after this long or once it holds this much;
# the activity step passes its own limits (ACTIVITY_*). Clones go under GAZER_GIT_DIR
# (default: `gazer-git` in the system's temporary directory).
GIT_CLONE_TIMEOUT_SECONDS = _positive_int("GIT_CLONE_TIMEOUT_SECONDS", 300)
GIT_CLONE_MAX_MB = _positive_int("GIT_CLONE_MAX_MB", 512)
GAZER_GIT_DIR = env.str("GAZER_GIT_DIR", default="")
# A transient answer (5xx, dropped connection, timeout) is asked again within the call
# this many times, about BACKOFF x 3^n seconds apart (1, 3, 9 s), as GitHub's own clients
# do; a Retry-After (or a secondary limit) up to WAIT_MAX seconds is waited there too.
# Longer waits are the work row's `not_before`, never a sleep.
GITHUB_RETRIES = _int("GITHUB_RETRIES", 3)
GITHUB_RETRY_BACKOFF_SECONDS = _float("GITHUB_RETRY_BACKOFF_SECONDS", 1.0)
GITHUB_RETRY_WAIT_MAX_SECONDS = _float("GITHUB_RETRY_WAIT_MAX_SECONDS", 10.0)
if GITHUB_RETRIES < 0:
    raise ImproperlyConfigured(f"GITHUB_RETRIES must be 0 or more, got {GITHUB_RETRIES}")
# A profile step that GitHub's transient errors stop (after the call's own retries) waits
# on its row and runs again: first after about BACKOFF seconds, doubling up to
# BACKOFF_MAX; transient trouble fails the run only once HORIZON has passed since the
# run began. Only permanent answers (unknown user, 451, other 4xx) fail a step at once.
PIPELINE_TRANSIENT_HORIZON_SECONDS = _positive_int("PIPELINE_TRANSIENT_HORIZON_SECONDS", 6 * 3600)
PIPELINE_TRANSIENT_BACKOFF_SECONDS = _float("PIPELINE_TRANSIENT_BACKOFF_SECONDS", 30.0)
PIPELINE_TRANSIENT_BACKOFF_MAX_SECONDS = _float("PIPELINE_TRANSIENT_BACKOFF_MAX_SECONDS", 1800.0)
MEDIA_FETCH_ALLOW_PRIVATE = _bool("MEDIA_FETCH_ALLOW_PRIVATE", False)

# --- LLM ----------------------------------------------------------------------------
LLM_MODEL = env.str("LLM_MODEL", default="openrouter/deepseek/deepseek-chat-v3.1")
LLM_API_BASE = env.str("LLM_API_BASE", default="") or None
LLM_API_KEY = env.str("LLM_API_KEY", default="") or env.str("OPENROUTER_API_KEY", default="")
LLM_TIMEOUT_SECONDS = _positive_int("LLM_TIMEOUT_SECONDS", 60)
# On (the default), calls go through the `llm` queue to the LLM worker, so no other
# process loads litellm; off, each worker process calls the provider itself.
LLM_WORKER = _bool("LLM_WORKER", True)
# How long a call may wait in the `llm` queue before its caller gives up on it.
LLM_QUEUE_WAIT_SECONDS = _positive_int("LLM_QUEUE_WAIT_SECONDS", 30)

# --- Access -------------------------------------------------------------------------
API_KEY = env.str("API_KEY", default="")
# Where the operations page links for Celery's Flower (`make run` starts it there).
FLOWER_URL = env.str("FLOWER_URL", default="http://127.0.0.1:5555/")
ADMIN_API_KEY = env.str("ADMIN_API_KEY", default="")
ALLOWED_ORIGINS = _csv("ALLOWED_ORIGINS")
for _origin in ALLOWED_ORIGINS:
    if not _origin.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"ALLOWED_ORIGINS entries must be http(s) origins: {_origin!r}")
# Stored account tokens are encrypted under TOKEN_ENCRYPTION_KEY (MultiFernet, see
# users/tokens.py); keys listed in TOKEN_ENCRYPTION_KEYS_OLD still decrypt, so a key can
# be rotated without losing tokens (then `manage.py tokens_rotate` re-encrypts them).
TOKEN_ENCRYPTION_KEY_DERIVED = not env.str("TOKEN_ENCRYPTION_KEY", default="")
TOKEN_ENCRYPTION_KEY = (
    env.str("TOKEN_ENCRYPTION_KEY", default="")
    or hashlib.sha256(f"gazer-token-encryption:{SECRET_KEY}".encode()).hexdigest()
)
TOKEN_ENCRYPTION_KEYS_OLD = _csv("TOKEN_ENCRYPTION_KEYS_OLD")


def public_secrets(*, secret_key: str, token_key: str) -> list[str]:
    """The names whose value is a known public default (from this file's source)."""
    public = {DEV_SECRET_KEY, "", "change-me", "changeme"}
    derived = hashlib.sha256(f"gazer-token-encryption:{DEV_SECRET_KEY}".encode()).hexdigest()
    found = []
    if secret_key in public:
        found.append("SECRET_KEY")
    if token_key in public or token_key == derived:
        found.append("TOKEN_ENCRYPTION_KEY")
    return found


PUBLIC_SECRETS = public_secrets(secret_key=SECRET_KEY, token_key=TOKEN_ENCRYPTION_KEY)
if PUBLIC_SECRETS and not DEBUG:
    raise ImproperlyConfigured(
        f"{' and '.join(PUBLIC_SECRETS)} must be set to a secret value when DEBUG is off "
        "(the default is public). `make setup` writes fresh ones into .env; or set them "
        "in the environment."
    )

# --- Sign in with GitHub (django-allauth's GitHub provider; web/signin/) -------------
# A GitHub OAuth app's client id and secret; its callback URL is this site's
# `/accounts/github/login/callback/`. Unset: the pages offer no sign-in.
GITHUB_OAUTH_CLIENT_ID = env.str("GITHUB_OAUTH_CLIENT_ID", default="")
GITHUB_OAUTH_CLIENT_SECRET = env.str("GITHUB_OAUTH_CLIENT_SECRET", default="")
if bool(GITHUB_OAUTH_CLIENT_ID) != bool(GITHUB_OAUTH_CLIENT_SECRET):
    raise ImproperlyConfigured(
        "GITHUB_OAUTH_CLIENT_ID and GITHUB_OAUTH_CLIENT_SECRET are set together or not at all"
    )
# Where the person's browser opens GitHub's authorize page; the server trades the code
# at GITHUB_WEB_URL. They differ only when the server reaches GitHub by a name browsers
# cannot (e.g. a simulator in a compose network).
# Empty: GITHUB_WEB_URL.
GITHUB_OAUTH_WEB_URL = (
    _http_url("GITHUB_OAUTH_WEB_URL", GITHUB_WEB_URL) if env.str("GITHUB_OAUTH_WEB_URL", "") else ""
)
SOCIALACCOUNT_PROVIDERS = {
    "github": {
        # Gazer's provider: GitHub's URLs from GITHUB_WEB_URL / GITHUB_API_URL.
        "provider_class": "web.signin.provider.GitHubProvider",
        "APPS": (
            [{"client_id": GITHUB_OAUTH_CLIENT_ID, "secret": GITHUB_OAUTH_CLIENT_SECRET}]
            if GITHUB_OAUTH_CLIENT_ID
            else []
        ),
        # No scope: public information, read-only (the token's own rate limit is the
        # point); email is not asked for.
        "SCOPE": [],
        "OAUTH_PKCE_ENABLED": True,
    }
}
SOCIALACCOUNT_ADAPTER = "web.signin.adapter.SocialAccountAdapter"
ACCOUNT_ADAPTER = "web.signin.adapter.AccountAdapter"
SOCIALACCOUNT_QUERY_EMAIL = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
# The token is kept only encrypted on the GitHub user (users.tokens), never in
# allauth's clear-text table.
SOCIALACCOUNT_STORE_TOKENS = False
# Starting the flow is a POST (a CSRF-protected form), never a link.
SOCIALACCOUNT_LOGIN_ON_GET = False
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
LOGIN_URL = "web-signin"
LOGIN_REDIRECT_URL = "/"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# --- Rate limits (per client; config/throttles.py) ------------------------------------
_RATE = r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$"


def _rate(name: str, default: str) -> str:
    value = env.str(name, default=default).strip()
    if not re.match(_RATE, value):
        raise ImproperlyConfigured(f"{name} must look like 30/hour (s, min, hour, day)")
    return value


THROTTLE_RATES = {
    "pipeline": _rate("THROTTLE_RATE_PIPELINE", "30/hour"),
    "write": _rate("THROTTLE_RATE_WRITE", "300/hour"),
    "admin": _rate("THROTTLE_RATE_ADMIN", "120/min"),
}
# The trusted frontend (a caller presenting API_KEY) signs in everyone who uses the
# product from one address: its own bucket per scope, at this rate.
THROTTLE_RATE_FRONTEND = _rate("THROTTLE_RATE_FRONTEND", "20000/hour")
try:
    NUM_PROXIES = env.int("NUM_PROXIES", default=0)
except ValueError as exc:
    raise ImproperlyConfigured("NUM_PROXIES must be an integer") from exc
if NUM_PROXIES < 0:
    raise ImproperlyConfigured("NUM_PROXIES must be 0 or more")

# The cache (throttle counters) is Redis, so every web process shares it.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "gazer",
        "TIMEOUT": 3600,
        "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2},
    }
}

# --- Deployment behind TLS ------------------------------------------------------------
# SECURE_DEPLOYMENT=true: served over HTTPS (usually by a proxy that terminates TLS and
# sets X-Forwarded-Proto): secure cookies, HSTS, HTTP redirected to HTTPS (health
# checks exempt), and the proxy's header trusted for "is this request secure".
# `manage.py check --deploy` passes with it on (and DEBUG off, a real SECRET_KEY and
# ALLOWED_HOSTS).
SECURE_DEPLOYMENT = _bool("SECURE_DEPLOYMENT", False)
if SECURE_DEPLOYMENT:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^livez$", r"^readyz$", r"^healthz?$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = _positive_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    # Preloading is a commitment to browsers' lists: opt in with SECURE_HSTS_PRELOAD.
    SECURE_HSTS_PRELOAD = _bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"

# --- Star graph engine --------------------------------------------------------------
# The dead man's switch: a stargazer task alive this long is killed.
STARGAZER_TASK_DEADLINE_SECONDS = _positive_int("STARGAZER_TASK_DEADLINE_SECONDS", 6 * 3600)
# A claim without a heartbeat for this long is stale.
STARGAZER_CLAIM_TTL_SECONDS = _positive_int("STARGAZER_CLAIM_TTL_SECONDS", 3600)
# Pages fetched by one task before it re-enqueues itself from the stored cursor.
STARGAZER_PAGES_PER_TASK = _positive_int("STARGAZER_PAGES_PER_TASK", 25)
# A restricted repo is looked at again only after this long (or with another token).
STARGAZER_RESTRICTED_RECHECK_SECONDS = _positive_int(
    "STARGAZER_RESTRICTED_RECHECK_SECONDS", 7 * 24 * 3600
)

# A crawl message younger than this is presumed waiting in its queue; older ones (or any
# whose queue is empty) are re-sent by the dispatch sweep.
STARGAZER_ENQUEUE_LEASE_SECONDS = _positive_int("STARGAZER_ENQUEUE_LEASE_SECONDS", 900)

# --- For You feed -------------------------------------------------------------------
# Stage 1 (retrieval, no LLM): each signal's weight. Every signal is a value in 0..1, so a
# weight is how much a perfect match on that signal adds to a candidate's score.
FEED_WEIGHT_LANGUAGE = _float("FEED_WEIGHT_LANGUAGE", 1.0)
FEED_WEIGHT_KEYWORDS = _float("FEED_WEIGHT_KEYWORDS", 1.5)
FEED_WEIGHT_EMPHASIS = _float("FEED_WEIGHT_EMPHASIS", 1.0)
FEED_WEIGHT_KIND = _float("FEED_WEIGHT_KIND", 0.5)
FEED_WEIGHT_THEME = _float("FEED_WEIGHT_THEME", 1.0)
FEED_WEIGHT_RECENCY = _float("FEED_WEIGHT_RECENCY", 0.3)
# Star graph: repos starred by the viewer's kindred developers; repos whose stargazers
# overlap the viewer's neighbourhood; authors whose repos the viewer's kindred starred.
FEED_WEIGHT_STARRED_BY_KINDRED = _float("FEED_WEIGHT_STARRED_BY_KINDRED", 2.0)
FEED_WEIGHT_STARGAZER_OVERLAP = _float("FEED_WEIGHT_STARGAZER_OVERLAP", 1.5)
FEED_WEIGHT_AUTHOR_STARRED_BY_KINDRED = _float("FEED_WEIGHT_AUTHOR_STARRED_BY_KINDRED", 1.0)
# Recency decays with this time constant (days since the last push).
FEED_RECENCY_DAYS = _positive_int("FEED_RECENCY_DAYS", 180)
# Candidates kept per viewer after stage 1 (what GET ranks from; at least the 100 a page
# may ask for).
FEED_KEEP = _positive_int("FEED_KEEP", 300)
# Stage 2: the LLM judges this many of stage 1's best, this many per prompt.
FEED_JUDGE_TOP_N = _positive_int("FEED_JUDGE_TOP_N", 200)
FEED_JUDGE_BATCH_SIZE = _positive_int("FEED_JUDGE_BATCH_SIZE", 20)
# POST ?wait=true waits this long for the rebuild, then answers 202 as without it.
FEED_REBUILD_WAIT_SECONDS = _positive_int("FEED_REBUILD_WAIT_SECONDS", 120)
# Fatigue: penalty hours = SHOWN × times shown + RECENT × e^(-hours since shown / DECAY);
# the penalty costs 1 / HOURS_PER_POINT of score per hour (score - penalty_hours / 500
# by default).
FEED_FATIGUE_SHOWN_HOURS = _float("FEED_FATIGUE_SHOWN_HOURS", 18.0)
FEED_FATIGUE_RECENT_HOURS = _float("FEED_FATIGUE_RECENT_HOURS", 24.0)
FEED_FATIGUE_DECAY_HOURS = _float("FEED_FATIGUE_DECAY_HOURS", 24.0, minimum=0.001)
FEED_FATIGUE_HOURS_PER_POINT = _float("FEED_FATIGUE_HOURS_PER_POINT", 500.0, minimum=0.001)
# A served page's exposure bumps commit without waiting for the WAL flush (a Postgres
# crash may lose the last fraction of a second of them; nothing else is affected).
FEED_EXPOSURE_ASYNC_COMMIT = _bool("FEED_EXPOSURE_ASYNC_COMMIT", True)

# --- Star-graph signals (precomputed per account when its stars change) ---------------
# Kindred developers kept per account (what /kindred and the feed read).
STAR_SIGNALS_KINDRED_KEEP = _positive_int("STAR_SIGNALS_KINDRED_KEEP", 200)
# The closest kindred whose stars make the "starred by kindred" signals.
STAR_SIGNALS_KINDRED_TOP = _positive_int("STAR_SIGNALS_KINDRED_TOP", 50)
# Repos kept per account for those signals (the highest scoring).
STAR_SIGNALS_REPOS_KEEP = _positive_int("STAR_SIGNALS_REPOS_KEEP", 2000)
# An account's signals are recomputed at most this often while its stars keep changing
# (a crawl marks them stale on every page; one computation aggregates the edges of every
# repo the account starred, about a second at a million edges); the sweep catches up.
STAR_SIGNALS_MIN_INTERVAL_SECONDS = _positive_int("STAR_SIGNALS_MIN_INTERVAL_SECONDS", 3600)

# --- Activity -----------------------------------------------------------------------
# The heatmap's window (two years) and what one user may cost.
ACTIVITY_WINDOW_YEARS = _positive_int("ACTIVITY_WINDOW_YEARS", 2)
ACTIVITY_BRANCHES_LIMIT = _positive_int("ACTIVITY_BRANCHES_LIMIT", 10)  # default branch + 9
ACTIVITY_MAX_COMMITS_PER_REPO = _positive_int("ACTIVITY_MAX_COMMITS_PER_REPO", 5000)
ACTIVITY_MAX_COMMITS_PER_USER = _positive_int("ACTIVITY_MAX_COMMITS_PER_USER", 20000)
ACTIVITY_MAX_CLONE_BYTES = _positive_int("ACTIVITY_MAX_CLONE_BYTES", 256 * 1024 * 1024)
# Git timeouts: the clone and each fetch.
ACTIVITY_CLONE_TIMEOUT_SECONDS = _positive_int("ACTIVITY_CLONE_TIMEOUT_SECONDS", 120)
ACTIVITY_FETCH_TIMEOUT_SECONDS = _positive_int("ACTIVITY_FETCH_TIMEOUT_SECONDS", 120)
# A refresh re-reads commits this many days before the newest one it saw (pushes of
# commits made earlier). The step's git work ends by this many seconds (below the step
# task's 240 s soft limit); repos left are scanned by the next refresh.
ACTIVITY_REFRESH_OVERLAP_DAYS = _positive_int("ACTIVITY_REFRESH_OVERLAP_DAYS", 7)
ACTIVITY_STEP_BUDGET_SECONDS = _positive_int("ACTIVITY_STEP_BUDGET_SECONDS", 200)

# --- Django -------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "django_celery_beat",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.github",
    "workers",
    "users",
    "repos",
    "activity",
    "feed",
    "stargazers",
    "web",
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
# API paths have no trailing slash; never redirect a POST to add one.
APPEND_SLASH = False
# Bodies above this are refused with 413 before parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.accounts.viewer_context",
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

CORS_ALLOWED_ORIGINS = ALLOWED_ORIGINS

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.DepthLimitedJSONParser"],
    # Callers identify with bearer keys checked by permissions, not Django users.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PERMISSION_CLASSES": ["config.auth.ApiKeyForWrites"],
    "EXCEPTION_HANDLER": "config.errors.exception_handler",
    # Per-client rate limits (config/throttles.py); the rates are THROTTLE_RATES below.
    "DEFAULT_THROTTLE_CLASSES": ["config.throttles.ClientRateThrottle"],
    # Proxies in front whose X-Forwarded-For entry names the client (0: REMOTE_ADDR).
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_SCHEMA_CLASS": "config.schema.GazerAutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Gazer API",
    "DESCRIPTION": "GitHub developer profiles, For You feed and the star graph.",
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc from the pinned drf-spectacular-sidecar package, served as our
    # own static files: no CDN, works offline, no third-party script on this origin.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # securitySchemes, path parameter rules and the shared error answers (config/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.postprocess",
    ],
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True},
}

# --- Celery (every setting explicit; the reasons are in config/celery.py) -----------
CELERY_BROKER_URL = REDIS_URL

# `plain`: human lines with every extra field as key=value; `json`: one object a line.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain").strip().lower()
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.logs.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"()": "config.logs.KeyValueFormatter"},
        "json": {"()": "config.logs.GazerJsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"level": "INFO"},
        "litellm": {"level": "WARNING"},
        "LiteLLM": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}
