from django.contrib import admin

from repos.models import GalleryImage, Repo, UserRepo


class GalleryImageInline(admin.TabularInline):
    model = GalleryImage
    fields = ("url", "alt", "is_highlight", "width", "height", "source")
    extra = 0


@admin.register(Repo)
class RepoAdmin(admin.ModelAdmin):
    list_display = (
        "full_name",
        "language",
        "stargazers_count",
        "is_fork",
        "is_archived",
        "kind",
        "pushed_at",
        "enriched_at",
    )
    list_filter = ("is_fork", "is_archived", "language")
    search_fields = ("full_name", "description", "blurb", "kind")
    readonly_fields = (
        "github_id",
        "full_name",
        "owner_login",
        "name",
        "created_at",
        "updated_at",
        "metadata_fetched_at",
        "enriched_at",
    )
    inlines = [GalleryImageInline]


@admin.register(UserRepo)
class UserRepoAdmin(admin.ModelAdmin):
    list_display = ("user", "repo", "include_reason", "commit_days", "highlight_rank")
    list_filter = ("include_reason",)
    search_fields = ("user__login", "repo__full_name")
    list_select_related = ("user", "repo")
    raw_id_fields = ("user", "repo")


@admin.register(GalleryImage)
class GalleryImageAdmin(admin.ModelAdmin):
    list_display = ("repo", "url", "is_highlight", "width", "height", "source", "taken_at")
    list_filter = ("is_highlight", "source")
    search_fields = ("repo__full_name", "url", "alt", "title")
    list_select_related = ("repo",)
    raw_id_fields = ("repo",)
