from django.apps import AppConfig


class FeedConfig(AppConfig):
    name = "feed"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from feed.services import profile_ready_received
        from users.signals import profile_ready

        # A finished profile rebuilds that viewer's feed (debounced).
        profile_ready.connect(profile_ready_received, dispatch_uid="feed.profile_ready")
