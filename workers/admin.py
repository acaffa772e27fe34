from django.contrib import admin

from workers.models import DiagnosticsSnapshot, QueuePause


@admin.register(DiagnosticsSnapshot)
class DiagnosticsSnapshotAdmin(admin.ModelAdmin):
    list_display = (
        "taken_at",
        "accounts_processed_period",
        "accounts_per_hour",
        "workers_total",
        "workers_active",
        "cpu_percent",
        "memory_percent",
        "stargazers_found",
    )
    date_hierarchy = "taken_at"

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # history is a record, not a setting

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(QueuePause)
class QueuePauseAdmin(admin.ModelAdmin):
    list_display = ("queue", "reason", "paused_at")
