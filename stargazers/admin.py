from django.contrib import admin

from config.errors import GazerError
from repos.models import Repo
from stargazers.models import StarEdge, StargazerCrawl, StarHistoryDay
from stargazers.services import crawl_reprocess


@admin.action(description="Reprocess (refresh from the last page, or resume)")
def reprocess_selected(modeladmin, request, queryset):
    _reprocess(modeladmin, request, queryset, force=False)


@admin.action(description="Reprocess from the first page (force)")
def reprocess_selected_force(modeladmin, request, queryset):
    _reprocess(modeladmin, request, queryset, force=True)


def _reprocess(modeladmin, request, queryset, *, force: bool) -> None:
    done, skipped = 0, 0
    for repo_id in queryset.values_list("repo_id", flat=True)[:1000]:
        try:
            crawl_reprocess(key=str(repo_id_to_key(repo_id)), force=force)
            done += 1
        except GazerError:
            skipped += 1
    modeladmin.message_user(request, f"Queued {done} repo(s); {skipped} not eligible.")


def repo_id_to_key(repo_id: int) -> str:
    return Repo.objects.values_list("full_name", flat=True).get(pk=repo_id)


@admin.register(StargazerCrawl)
class StargazerCrawlAdmin(admin.ModelAdmin):
    actions = [reprocess_selected, reprocess_selected_force]
    list_display = (
        "repo",
        "status",
        "priority",
        "repo_stars",
        "stargazers_stored",
        "pages_fetched",
        "claimed_by",
        "heartbeat_at",
        "not_before",
        "error_count",
    )
    list_filter = ("status", "priority")
    search_fields = ("repo__full_name", "error", "claimed_by")
    list_select_related = ("repo",)
    raw_id_fields = ("repo", "account")
    # The cursor and claim are the engine's: editing them by hand breaks resumption.
    readonly_fields = (
        "claimed_by",
        "claimed_at",
        "heartbeat_at",
        "next_page_url",
        "pages_fetched",
        "last_page_url",
        "last_page_etag",
        "stargazers_stored",
        "enqueued_at",
        "started_at",
        "completed_at",
        "created_at",
        "updated_at",
    )


@admin.register(StarEdge)
class StarEdgeAdmin(admin.ModelAdmin):
    list_display = ("user", "repo", "starred_at", "source", "created_at")
    list_filter = ("source",)
    search_fields = ("user__login", "repo__full_name")
    list_select_related = ("user", "repo")
    raw_id_fields = ("user", "repo")
    readonly_fields = ("user", "repo", "starred_at", "source", "created_at")
    show_full_result_count = False  # counting millions of edges per page view is slow


@admin.register(StarHistoryDay)
class StarHistoryDayAdmin(admin.ModelAdmin):
    list_display = ("repo", "day", "stars")
    search_fields = ("repo__full_name",)
    raw_id_fields = ("repo",)
    date_hierarchy = "day"
