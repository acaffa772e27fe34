"""Operator commands of the star graph."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from stargazers.models import StargazerCrawl
from tests.factories import CrawlFactory, RepoFactory
from workers.models import QueuePause

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_status_json_counts(redis_test_client):
    CrawlFactory(status="failed", error="boom")
    doc = json.loads(_run("stargazers_status", "--json", "--status", "failed"))
    assert doc["database"]["failed_repos"] == 1
    assert doc["repos"][0]["last_error"] == "boom"


def test_pause_and_resume_commands(redis_test_client):
    assert "paused" in _run("stargazers_pause", "--reason", "deploy")
    assert QueuePause.objects.filter(queue="stargazers", reason="deploy").exists()
    assert "already paused" in _run("stargazers_pause")
    assert "resumed" in _run("stargazers_resume")
    assert not QueuePause.objects.exists()


def test_reprocess_command(redis_test_client):
    CrawlFactory(repo=RepoFactory(full_name="acme/one"), status="failed")
    CrawlFactory(status="failed")
    assert "queued: acme/one" in _run("stargazers_reprocess", "--repo", "acme/one")
    assert "queued 1 repo(s)" in _run("stargazers_reprocess", "--status", "failed")
    assert set(StargazerCrawl.objects.values_list("status", flat=True)) == {"pending"}
    with pytest.raises(CommandError):
        _run("stargazers_reprocess", "--repo", "acme/missing")


def test_admin_action_reprocesses_selected(redis_test_client, admin_client):
    crawl = CrawlFactory(repo=RepoFactory(full_name="acme/acted"), status="failed")
    response = admin_client.post(
        "/admin/stargazers/stargazercrawl/",
        {"action": "reprocess_selected", "_selected_action": [crawl.pk]},
    )
    assert response.status_code == 302
    crawl.refresh_from_db()
    assert crawl.status == "pending"
