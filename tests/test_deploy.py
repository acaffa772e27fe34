"""The deployment files, read as a deployer would (no container engine needed)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_secrets_are_required_from_the_environment():
    text = (ROOT / "docker-compose.yml").read_text()
    for name in ("SECRET_KEY", "TOKEN_ENCRYPTION_KEY", "FLOWER_BASIC_AUTH"):
        assert re.search(rf"{name}: \$\{{{name}:\?", text), name


def test_flower_has_basic_auth_and_is_published_on_loopback_only():
    flower = _compose()["services"]["flower"]
    assert "FLOWER_BASIC_AUTH" in flower["environment"]
    assert flower["ports"] == ["${FLOWER_BIND:-127.0.0.1}:5555:5555"]


def test_long_running_services_have_healthchecks():
    services = _compose()["services"]
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert "inspect ping -d worker@" in " ".join(services["worker"]["healthcheck"]["test"])
    assert "inspect ping -d llm@" in " ".join(services["llm"]["healthcheck"]["test"])
    assert "beat_check" in services["beat"]["healthcheck"]["test"]


def test_demo_profile_adds_the_simulator_and_points_github_and_the_llm_at_it():
    services = _compose()["services"]
    assert services["sim"]["profiles"] == ["demo"]
    demo = dict(
        line.split("=", 1)
        for line in (ROOT / "compose" / "demo.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert demo["COMPOSE_PROFILES"] == "demo"
    assert demo["GITHUB_API_URL"].startswith("http://sim:9100")
    assert demo["LLM_API_BASE"].startswith("http://sim:9100")
    for name in ("GITHUB_API_URL", "LLM_API_BASE", "LLM_API_KEY", "GITHUB_TOKENS"):
        assert f"${{{name}:-" in services["web"]["environment"][name]


def test_image_leaves_secrets_and_history_out_and_runs_unprivileged():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".env.*", ".venv/", ".git/"} <= set(ignored)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER gazer" in dockerfile


def test_runtime_image_leaves_out_every_test_and_tooling_package():
    requirements_in = (ROOT / "requirements.in").read_text()
    section = requirements_in.split("# tests and tooling", 1)[1].splitlines()
    tooling = [
        re.split(r"[<>=!~\[;]", line.strip(), maxsplit=1)[0]  # the name, without its pin
        for line in section
        if line.strip() and not line.startswith("#")
    ]
    excluded = re.search(r"grep -v -E '\^\(([^)]*)\)==", (ROOT / "Dockerfile").read_text())
    assert excluded, "the Dockerfile filters requirements.txt"
    assert set(tooling) <= set(excluded.group(1).split("|"))


def test_beat_check_passes_only_while_the_schedule_ticks(db):
    from datetime import timedelta

    import pytest
    from django.core.management import call_command
    from django.utils import timezone
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    with pytest.raises(SystemExit):
        call_command("beat_check")
    every = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    task = PeriodicTask.objects.create(
        name="t", task="x", interval=every, last_run_at=timezone.now() - timedelta(hours=1)
    )
    with pytest.raises(SystemExit):
        call_command("beat_check")
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=timezone.now())
    call_command("beat_check")  # no exit: healthy
