from django.contrib import admin

from activity.models import UserActivity


@admin.register(UserActivity)
class UserActivityAdmin(admin.ModelAdmin):
    list_display = ("user", "active_days", "window_start", "window_end", "computed_at")
    search_fields = ("user__login",)
    list_select_related = ("user",)
    readonly_fields = (
        "user",
        "document",
        "window_start",
        "window_end",
        "active_days",
        "computed_at",
    )
