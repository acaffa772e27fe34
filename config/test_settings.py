"""Settings of the test suite: `config.settings` with the tests' own secrets and Redis
databases, and no `.env` (a developer's file must not change what the tests see).

The environment is set before `config.settings` reads it, and stays set, so the web
servers and Celery workers the tests start as subprocesses see the same values.
"""

from __future__ import annotations

import os

os.environ["GAZER_DOTENV"] = "false"
os.environ.pop("GAZER_ENV_FILE", None)  # nor the file of a system that happens to run
# litellm loads the working directory's `.env` on import unless told it is in production;
# whatever it loaded would reach every worker the tests start.
os.environ["LITELLM_MODE"] = "PRODUCTION"
# Test-only values (public, like every default): DEBUG stays off in the tests, as in
# production, and the settings refuse public defaults with DEBUG off.
os.environ.setdefault("SECRET_KEY", "gazer-test-suite-secret-key-not-for-any-deployment-0123456789")
os.environ.setdefault("TOKEN_ENCRYPTION_KEY", "gazer-test-suite-token-encryption-key")


def _redis_url_with_db(url: str, db: int) -> str:
    base = url.rsplit("/", 1)[0] if url.count("/") >= 3 else url
    return f"{base}/{db}"


# Every Redis user (Celery's broker, the cache behind the rate limits, the GitHub
# gateway's state) is on the tests' own database, here and in the subprocesses.
TEST_REDIS_DB = int(os.environ.get("GAZER_TEST_REDIS_DB", "15"))
os.environ["REDIS_URL"] = _redis_url_with_db(
    os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), TEST_REDIS_DB
)
# Tests that send many requests are not rate limited; the throttling tests set low rates.
for _name in ("THROTTLE_RATE_PIPELINE", "THROTTLE_RATE_WRITE", "THROTTLE_RATE_ADMIN"):
    os.environ.setdefault(_name, "100000/min")
# GitHub's transient answers are asked again milliseconds apart here, not seconds.
os.environ.setdefault("GITHUB_RETRY_BACKOFF_SECONDS", "0.01")

from config.settings import *  # noqa: E402, F403

# A Redis database where no worker of this run listens (for "no worker answers" checks).
TEST_REDIS_QUIET_DB = int(os.environ.get("GAZER_TEST_REDIS_QUIET_DB", (TEST_REDIS_DB + 8) % 16))
if TEST_REDIS_QUIET_DB == TEST_REDIS_DB:
    raise ValueError("GAZER_TEST_REDIS_QUIET_DB must differ from GAZER_TEST_REDIS_DB")
TEST_DB_NAME = "test_gazer" + os.environ.get("GAZER_TEST_DB_SUFFIX", "")
