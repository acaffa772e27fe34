from django.urls import path

from web import accounts, views

urlpatterns = [
    path("", views.home, name="home"),
    path("signin", accounts.signin, name="web-signin"),
    path("settings", accounts.account_settings, name="web-settings"),
    path("lookup", accounts.lookup, name="web-lookup"),
    path("u/<str:login>", views.profile, name="web-profile"),
    path("u/<str:login>/progress", views.profile_progress, name="web-profile-progress"),
    path("u/<str:login>/heatmap", views.profile_heatmap, name="web-profile-heatmap"),
    path("u/<str:login>/kindred", views.profile_kindred, name="web-profile-kindred"),
    path("u/<str:login>/for-you", views.for_you, name="web-for-you"),
    path("u/<str:login>/for-you/rebuild", views.for_you_rebuild, name="web-for-you-rebuild"),
    path("ops", views.ops_page, name="web-ops"),
    path("ops/pause", views.ops_pause, name="web-ops-pause"),
    path("ops/resume", views.ops_resume, name="web-ops-resume"),
]
