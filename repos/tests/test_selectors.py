"""The one repo lookup: any capitalisation, through the case-insensitive unique index."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from repos.errors import RepoNotFound
from repos.models import Repo
from repos.selectors import repo_get

pytestmark = pytest.mark.django_db


@pytest.fixture
def cat():
    return Repo.objects.create(github_id=1, full_name="Octo/Cat", owner_login="Octo", name="Cat")


def test_repo_get_matches_any_capitalisation(cat):
    for name in ("Octo/Cat", "octo/cat", "OCTO/CAT", "oCtO/cAt"):
        assert repo_get(full_name=name).pk == cat.pk
    with pytest.raises(RepoNotFound):
        repo_get(full_name="octo/dog")


def test_repo_get_reads_the_case_insensitive_index(cat):
    with CaptureQueriesContext(connection) as captured:
        repo_get(full_name="OCTO/CAT")
    (query,) = captured.captured_queries
    with connection.cursor() as cursor:
        # A table this small is read whole when the planner may: forbid that, so the plan
        # shows whether the condition can use the index at all.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + query["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "repo_full_name_ci_unique" in plan, plan
