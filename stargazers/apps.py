from django.apps import AppConfig


class StargazersConfig(AppConfig):
    name = "stargazers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: its modules need the app registry, which is ready only now.
        from stargazers import hooks

        hooks.connect()
