"""Shared pieces of the star-graph services: constants and the outcomes tasks map."""

from __future__ import annotations

import logging

from stargazers.models import StarEdge, StargazerCrawl
from workers import queues

logger = logging.getLogger(__name__)

PAGE_SIZE = 100  # GitHub's maximum per_page; the stored count is derived from it
PAGE_CAP = 400  # GitHub lists at most 400 pages of stargazers (40,000)
MAX_TRANSIENT_ERRORS = 5  # transient failures of one repo before it ends `failed`
DB_RETRIES = 3  # a page redone at once after a deadlock or serialization failure
PROGRESS_EVERY_PAGES = 10  # one progress line per 10 pages stored

Status = StargazerCrawl.Status
Priority = StargazerCrawl.Priority
CRAWL_TABLE = StargazerCrawl._meta.db_table
EDGE_TABLE = StarEdge._meta.db_table


class ClaimLost(Exception):
    """Our claim was taken away (stale reset or a forced reprocess): stop quietly."""


def queue_for(priority: int) -> str:
    """High priority rows travel on the high queue, everything else on low."""
    return queues.HIGH if priority == Priority.HIGH else queues.LOW
