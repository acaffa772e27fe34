"""Every Redis database a test touches comes from the test settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
# A Redis URL naming a real port and a database number, written out in a test.
_HARD_CODED = re.compile(r"redis://[^\"'\s]*:(?!1/)\d+/\d+")


def test_redis_users_are_on_the_test_database():
    suffix = f"/{settings.TEST_REDIS_DB}"
    assert settings.REDIS_URL.endswith(suffix)
    assert settings.CELERY_BROKER_URL == settings.REDIS_URL
    assert settings.CACHES["default"]["LOCATION"].endswith(suffix)
    assert settings.TEST_REDIS_QUIET_DB != settings.TEST_REDIS_DB


def test_quiet_database_comes_from_the_test_settings(quiet_redis_url):
    assert quiet_redis_url.endswith(f"/{settings.TEST_REDIS_QUIET_DB}")


def test_no_test_hard_codes_a_redis_database():
    files = [ROOT / "conftest.py", *ROOT.glob("*/tests/**/*.py"), *ROOT.glob("tests/*.py")]
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {match.group(0)}"
        for path in files
        for number, line in enumerate(path.read_text().splitlines(), 1)
        # An assertion about a default URL connects to nothing.
        if not line.lstrip().startswith("assert")
        for match in _HARD_CODED.finditer(line)
    ]
    assert offenders == []


def test_no_module_reads_a_developers_env_file_into_the_test_process():
    """Modules that read `.env` themselves (the LLM worker's, litellm) leave it alone
    under the test settings: whatever they set would leak into every worker the tests
    start."""
    import json
    import os
    import subprocess
    import sys

    from config.envfile import env_values

    dotenv = ROOT / ".env"
    if not dotenv.exists():
        pytest.skip("no .env here (make setup writes one)")
    names = sorted(set(env_values(dotenv.read_text())) - set(os.environ))
    probe = (
        "import json, os, sys; import workers.llm_worker, litellm; "
        "print(json.dumps([n for n in sys.argv[1:] if n in os.environ]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *names],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert os.environ["GAZER_DOTENV"] == "false"
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
