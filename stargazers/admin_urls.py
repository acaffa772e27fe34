from django.urls import path  # noqa: F401

# The star-graph admin API, mounted under /admin-api/.
urlpatterns: list = []
