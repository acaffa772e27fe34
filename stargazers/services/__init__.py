"""The star graph engine: writes and workflows.

Work lives in `StargazerCrawl` rows, one per repo; the queue is only transport. A task
claims its row with a conditional UPDATE, fetches up to `STARGAZER_PAGES_PER_TASK` pages
from the stored cursor, writes each page (users, edges, cursor, heartbeat) in one
transaction and hands the rest to a fresh task. Beat sweeps re-enqueue due rows that
have no live message and release stale claims, so a lost message or a killed worker
costs time, never data.

Modules: `common` (constants, pause switch), `accounts` (starred syncs), `dispatch`
(sending due rows, sweeps), `crawl` (a task's work), `pages` (the page write),
`operator` (admin and command actions). Callers import from this package.
"""

from stargazers.services.accounts import (
    SyncResult,
    _crawls_upsert,
    account_stars_sync,
    account_stars_sync_defer,
    account_stars_sync_request,
    accounts_stars_refresh_due,
    accounts_sync_dispatch,
    repos_upsert,
)
from stargazers.services.common import (
    PAGE_CAP,
    PAGE_SIZE,
    ClaimLost,
    queue_for,
)
from stargazers.services.crawl import (
    stargazer_crawl_claim,
    stargazer_crawl_release,
    stargazer_crawl_run,
    stargazer_crawls_release_worker,
)
from stargazers.services.dispatch import (
    _send_crawls,
    stargazer_claims_reset_stale,
    stargazer_crawls_dispatch,
)
from stargazers.services.operator import (
    crawl_reprocess,
    crawl_reset,
    crawls_reprocess_by_status,
    queues_purge,
    star_history_refresh,
    star_history_request,
    stargazers_pause,
    stargazers_resume,
    user_crawls_reprocess,
    workers_scale,
)
from stargazers.services.pages import page_users, stargazer_page_store
from stargazers.services.star_affinity import (
    kindred_get_or_compute,
    star_affinity_compute,
    star_affinity_current,
    star_affinity_get_or_compute,
    star_affinity_mark_stale,
    star_affinity_refresh,
    star_affinity_sweep,
)

__all__ = [
    "PAGE_CAP",
    "PAGE_SIZE",
    "ClaimLost",
    "SyncResult",
    "_crawls_upsert",
    "_send_crawls",
    "account_stars_sync",
    "account_stars_sync_defer",
    "account_stars_sync_request",
    "accounts_stars_refresh_due",
    "accounts_sync_dispatch",
    "crawl_reprocess",
    "crawl_reset",
    "crawls_reprocess_by_status",
    "kindred_get_or_compute",
    "page_users",
    "queue_for",
    "queues_purge",
    "repos_upsert",
    "star_affinity_compute",
    "star_affinity_current",
    "star_affinity_get_or_compute",
    "star_affinity_mark_stale",
    "star_affinity_refresh",
    "star_affinity_sweep",
    "star_history_refresh",
    "star_history_request",
    "stargazer_claims_reset_stale",
    "stargazer_crawl_claim",
    "stargazer_crawl_release",
    "stargazer_crawl_run",
    "stargazer_crawls_dispatch",
    "stargazer_crawls_release_worker",
    "stargazer_page_store",
    "stargazers_pause",
    "stargazers_resume",
    "user_crawls_reprocess",
    "workers_scale",
]
