"""Domain errors of the users app (answered as `{"ok": false, "error": {...}}`)."""

from __future__ import annotations

from config.errors import GazerError


class InvalidUsername(GazerError):
    code = "invalid_username"
    message = (
        "Invalid GitHub username: 1-39 characters, letters, digits or single hyphens, "
        "not starting or ending with a hyphen."
    )
    http_status = 400


class UserNotFound(GazerError):
    code = "user_not_found"
    message = "No such user."
    http_status = 404

    @classmethod
    def for_login(cls, login: str) -> UserNotFound:
        return cls(f"No user {login!r}.", details={"username": login})


class UserExists(GazerError):
    code = "user_exists"
    message = "The user already exists; pass ?force=true to make it a ghost and refetch."
    http_status = 409


class UnknownStep(GazerError):
    code = "unknown_step"
    message = "Unknown pipeline step."
    http_status = 400


class PipelineBusy(GazerError):
    code = "pipeline_busy"
    message = "A pipeline run for this user is already queued or running."
    http_status = 409
