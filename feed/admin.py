from django.contrib import admin

from feed.models import FeedExposure, FeedJudgment


@admin.register(FeedJudgment)
class FeedJudgmentAdmin(admin.ModelAdmin):
    list_display = ("viewer", "repo", "include", "model", "judged_at")
    list_filter = ("include", "model")
    search_fields = ("viewer__login", "repo__full_name")
    list_select_related = ("viewer", "repo")
    raw_id_fields = ("viewer", "repo")
    readonly_fields = ("viewer_fingerprint", "candidate_fingerprint", "model", "judged_at")


@admin.register(FeedExposure)
class FeedExposureAdmin(admin.ModelAdmin):
    list_display = ("viewer", "repo", "times_shown", "last_shown_at")
    search_fields = ("viewer__login", "repo__full_name")
    list_select_related = ("viewer", "repo")
    raw_id_fields = ("viewer", "repo")
