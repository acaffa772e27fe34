"""How the star graph plugs into the layers below it (connected in `AppConfig.ready()`):
a sign-in starts the account's starred sync; /health gets the engine's check and the
accounts counter; diagnostics snapshots get the star graph's figures."""

from __future__ import annotations

from stargazers import health
from stargazers.selectors.accounts import accounts_processed_total
from stargazers.selectors.diagnostics import diagnostics_figures
from stargazers.services import account_stars_sync_request
from users.signals import account_signed_in
from workers.diagnostics import diagnostics_source_register
from workers.health import check_register, stat_register


def account_stars_sync_on_sign_in(sender, *, user_id: int, is_new: bool, **kwargs) -> None:
    """Sync the account's starred repos (new accounts on the high queue)."""
    account_stars_sync_request(user_id=user_id, is_new=is_new)


def connect() -> None:
    account_signed_in.connect(
        account_stars_sync_on_sign_in, dispatch_uid="stargazers.account_stars_sync"
    )
    check_register(health.CHECK_NAME, health.crawl_claims_check)
    stat_register("total_accounts_processed", accounts_processed_total)
    diagnostics_source_register(diagnostics_figures)
