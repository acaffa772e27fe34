"""Domain errors of the star graph."""

from __future__ import annotations

from config.errors import GazerError


class RepoNotFound(GazerError):
    code = "repo_not_found"
    message = "Repository not found."
    http_status = 404


class CrawlNotFound(GazerError):
    code = "crawl_not_found"
    message = "Repository has no stargazer-processing row."
    http_status = 404


class UserNotFound(GazerError):
    code = "user_not_found"
    message = "User not found."
    http_status = 404


class NotEligible(GazerError):
    code = "not_eligible"
    message = "Repository not found or not eligible for reprocessing."
    http_status = 400


class InvalidRepoKey(GazerError):
    code = "invalid_repo"
    message = "A repository is named `owner/name` or by its numeric GitHub id."
    http_status = 400


class InvalidUsername(GazerError):
    code = "invalid_username"
    message = "Invalid GitHub username."
    http_status = 400


class ScaleRefused(GazerError):
    code = "scale_refused"
    message = "No worker could be scaled."
    http_status = 409


class BrokerUnavailable(GazerError):
    code = "broker_unavailable"
    message = "The broker (Redis) did not answer."
    http_status = 503
