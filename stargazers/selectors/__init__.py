"""Reads of the star graph, one module per job; none of them writes.

- `crawls`: the pause switch, crawl rows and their counts by status, a repo by key.
- `accounts`: an account's star-graph progress, the accounts counter.
- `repos`: a repo's stored stargazers and daily star counts.
- `kindred`: the stored kindred of a user and the stored star affinity the feed ranks
  with (computing a missing row is `services.kindred_get_or_compute` /
  `services.star_affinity_get_or_compute`).
- `admin_stats`: the admin API's and the command's statistics (database, processing,
  workers).
- `diagnostics`: the star graph's figures of a diagnostics snapshot, and the history.

The /health check of the engine is infrastructure glue, in `stargazers.health`.
"""
