from django.contrib import admin

from users.models import GitHubUser, PipelineRun, WorkItem


@admin.register(GitHubUser)
class GitHubUserAdmin(admin.ModelAdmin):
    list_display = (
        "login",
        "state",
        "name",
        "theme",
        "has_token",
        "profile_fetched_at",
        "last_login_at",
    )
    list_filter = ("state",)
    search_fields = ("login", "name", "theme")
    readonly_fields = (
        "github_id",
        "token_set_at",
        "created_at",
        "updated_at",
        "profile_fetched_at",
    )
    exclude = ("token_encrypted",)  # never shown, not even encrypted

    @admin.display(boolean=True, description="token")
    def has_token(self, obj: GitHubUser) -> bool:
        return obj.has_token


class WorkItemInline(admin.TabularInline):
    model = WorkItem
    fields = ("step", "repo", "status", "attempts", "started_at", "finished_at", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(PipelineRun)
class PipelineRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "user",
        "trigger",
        "status",
        "from_step",
        "created_at",
        "started_at",
        "finished_at",
        "not_before",
    )
    list_filter = ("status", "trigger")
    search_fields = ("user__login",)
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("created_at", "started_at", "finished_at", "heartbeat_at")
    inlines = [WorkItemInline]


@admin.register(WorkItem)
class WorkItemAdmin(admin.ModelAdmin):
    list_display = (
        "step",
        "user",
        "repo",
        "status",
        "attempts",
        "not_before",
        "started_at",
        "finished_at",
    )
    list_filter = ("status", "step")
    search_fields = ("user__login", "repo__full_name", "error")
    list_select_related = ("user", "repo")
    raw_id_fields = ("user", "repo", "run")
    readonly_fields = (
        "user",
        "repo",
        "step",
        "queued_at",
        "started_at",
        "finished_at",
        "updated_at",
    )
