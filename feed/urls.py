from django.urls import path

from feed import api

urlpatterns = [
    path("for-you/<str:viewer>", api.ForYouApi.as_view(), name="for-you"),
    path("for-you/<str:viewer>/rebuild", api.ForYouRebuildApi.as_view(), name="for-you-rebuild"),
]
