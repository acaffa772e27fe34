"""Events of the users app that upper apps react to (connect in `AppConfig.ready()`).

- `account_signed_in(user_id, is_new)`: an account signed in (login), sent once the
  sign-in is committed. `is_new` is false for an account that was already active.
- `profile_ready(user_id, run_id)`: a pipeline run finished with the profile ready
  (every required step succeeded), sent once that is committed.

users/ never imports the apps that listen.
"""

from django.dispatch import Signal

account_signed_in = Signal()
profile_ready = Signal()
