from django.urls import path

from activity import api

urlpatterns = [
    path("users/<str:login>/activity", api.UserActivityApi.as_view(), name="user-activity"),
]
