"""The LLM worker: a Celery app that only makes LLM calls, from the `llm` queue.

    celery -A workers.llm_worker worker -Q llm -P threads -c 8 -n llm@%h

Pipeline workers hand their prompts here (`workers.llm`) instead of importing litellm,
which with its OpenAI types costs about 160 MiB in every process that imports it. Calls
are network-bound, so one process with a thread pool serves all of them, and pipeline
workers keep their small footprint however many pool processes they run.

The process loads neither Django nor the project's tasks. It reads the broker and the
LLM key from the same environment (and `.env`) as the rest of the system; the model, base
URL, temperature and timeout come with each call, so only the key lives here.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import environ
from celery import Celery
from kombu import Queue

from workers import queues
from workers.broker import restore_guard_install
from workers.liveness import LivenessBeacon
from workers.llm_provider import ProviderError, complete

BASE_DIR = Path(__file__).resolve().parent.parent
# As config.settings: GAZER_DOTENV=false (the test settings) leaves `.env` unread. Reading
# it sets variables in this process, which every subprocess it starts would inherit.
_read_dotenv = os.environ.get("GAZER_DOTENV", "true").lower() not in ("0", "false", "no", "off")
if _read_dotenv and (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
env = environ.Env()

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise SystemExit(f"REDIS_URL must be a redis:// URL, got {REDIS_URL!r}")
# Same precedence as config.settings.
LLM_API_KEY = env.str("LLM_API_KEY", default="") or env.str("OPENROUTER_API_KEY", default="")

# litellm logs every call at INFO; our own line (workers.llm) says what matters.
logging.getLogger("LiteLLM").setLevel(logging.WARNING)

# No Django fixup: it would load Django (and the whole project) into this process.
# A Redis restart with calls held unacknowledged must not stop the worker.
restore_guard_install()
app = Celery("gazer-llm", fixups=[])
app.conf.update(
    broker_url=REDIS_URL,
    broker_connection_retry_on_startup=True,
    # Callers wait on the answer through the result backend (the same Redis).
    result_backend=REDIS_URL,
    # An answer is collected within seconds or never (its caller gave up).
    result_expires=600,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_queues=[Queue(queues.LLM)],
    task_default_queue=queues.LLM,
    # Ack on receipt: a call lost with a killed worker ends its caller's wait, and the
    # caller falls back; a redelivery after the visibility timeout would answer nobody.
    task_acks_late=False,
    worker_prefetch_multiplier=1,
    worker_send_task_events=True,
    timezone="UTC",
)


# Liveness beats for /health's llm_worker check (workers/liveness.py).
app.steps["consumer"].add(LivenessBeacon)


# No retries and no Celery time limits (the threads pool has none): the call carries
# its own timeout, and its caller gives up after that.
@app.task(name="llm.complete", ignore_result=False, max_retries=0)
def llm_complete(
    *,
    task: str,
    model: str,
    content: str,
    temperature: float,
    timeout: float,
    api_base: str | None = None,
) -> dict:
    """One completion; errors come back as data, so the caller never unpickles (or
    imports) a provider's exception class."""
    try:
        text = complete(
            task=task,
            model=model,
            content=content,
            temperature=temperature,
            timeout=timeout,
            api_key=LLM_API_KEY or None,
            api_base=api_base,
        )
    except ProviderError as exc:
        return {"error": str(exc)}
    return {"text": text}


__all__ = ["app", "llm_complete"]
