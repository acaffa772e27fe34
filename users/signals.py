"""Events of the users app that upper apps react to (receivers connect in their
`AppConfig.ready()`; users/ never imports them)."""

from __future__ import annotations

from django.dispatch import Signal

# A pipeline run finished with the profile ready; sent on commit. kwargs: user_id, run_id.
profile_ready = Signal()
