from django.apps import AppConfig


class WebConfig(AppConfig):
    """Server-rendered pages: the top layer, reading the same selectors as the API."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "web"
