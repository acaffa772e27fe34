from django.apps import AppConfig


class StargazersConfig(AppConfig):
    name = "stargazers"
    default_auto_field = "django.db.models.BigAutoField"
