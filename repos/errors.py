"""Domain errors of repositories and galleries (answered as `{"ok": false, "error": ...}`)."""

from __future__ import annotations

from config.errors import BadRequest, GazerError, NotFound


class InvalidRepoName(BadRequest):
    code = "invalid_repo_name"
    message = "Invalid repository name: 1-100 characters, letters, digits, '.', '-' or '_'."


class RepoNotFound(NotFound):
    code = "repo_not_found"
    message = "No such repository."


class ImageNotFound(NotFound):
    code = "image_not_found"
    message = "The gallery has no image with this URL."


class InvalidUrl(BadRequest):
    code = "invalid_url"
    message = "Only absolute http(s) URLs are accepted."


class TooMany(BadRequest):
    code = "too_many"
    message = "Too many items in one request."


class GitHubUnavailable(GazerError):
    """GitHub could not answer the repository lookup now (rate limit or outage)."""

    code = "github_unavailable"
    message = "GitHub could not be reached to look the repository up; try again later."
    http_status = 503
