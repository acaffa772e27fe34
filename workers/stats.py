"""Figures shared by health, diagnostics and the admin API."""

from __future__ import annotations


def accounts_processed_total() -> int:
    """Accounts whose star graph has been built at least once (seed 002's counter)."""
    from users.models import GitHubUser

    return GitHubUser.objects.filter(
        state=GitHubUser.State.ACTIVE, starred_synced_at__isnull=False
    ).count()
