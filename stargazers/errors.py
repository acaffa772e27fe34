"""Domain errors of the star graph (users and repos are looked up, and refused, with the
errors of their own apps: users.errors, repos.errors)."""

from __future__ import annotations

from config.errors import GazerError


class CrawlNotFound(GazerError):
    code = "crawl_not_found"
    message = "Repository has no stargazer-processing row."
    http_status = 404


class NotEligible(GazerError):
    code = "not_eligible"
    message = "Repository not found or not eligible for reprocessing."
    http_status = 400


class ScaleRefused(GazerError):
    code = "scale_refused"
    message = "No worker could be scaled."
    http_status = 409


class BrokerUnavailable(GazerError):
    code = "broker_unavailable"
    message = "The broker (Redis) did not answer."
    http_status = 503
