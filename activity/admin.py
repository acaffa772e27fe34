from django.contrib import admin

from activity.models import ActivityRepo, UserActivity


@admin.register(UserActivity)
class UserActivityAdmin(admin.ModelAdmin):
    list_display = ("user", "active_days", "window_start", "window_end", "computed_at")
    search_fields = ("user__login",)
    list_select_related = ("user",)
    readonly_fields = (
        "user",
        "document",
        "coverage",
        "identities",
        "window_start",
        "window_end",
        "active_days",
        "computed_at",
    )


@admin.register(ActivityRepo)
class ActivityRepoAdmin(admin.ModelAdmin):
    list_display = ("user", "full_name", "status", "commits_counted", "newest_at", "scanned_at")
    list_filter = ("status",)
    search_fields = ("user__login", "full_name")
    list_select_related = ("user",)
    readonly_fields = [f.name for f in ActivityRepo._meta.fields]
