"""Typed errors whose message is one line that says what failed, where, and what to do.

Every message names the operation and whatever context is known (job ID, project, endpoint host,
HTTP status, ModelArts ``error_code``/``error_message`` and the gateway's ``X-Request-Id``), so a
user reading a CI log can act on it without a traceback. Messages never carry credentials: the
client redacts known secret values from server text before it reaches an error.
"""

from __future__ import annotations

from typing import Any

_MAX_SERVER_TEXT = 200


def one_line(text: object, limit: int = _MAX_SERVER_TEXT) -> str:
    """Collapse whitespace and control characters so server text cannot break the one-line rule."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class ModelArtsError(Exception):
    """Base class of every error raised by pulumi-modelarts."""

    #: Short default advice appended to the message when the caller gives none.
    default_hint: str = ""

    def __init__(
        self,
        summary: str,
        *,
        operation: str | None = None,
        job_id: int | str | None = None,
        project_id: str | None = None,
        host: str | None = None,
        status: int | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        request_id: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.summary = one_line(summary, 400)
        self.operation = operation
        self.job_id = job_id
        self.project_id = project_id
        self.host = host
        self.status = status
        self.error_code = one_line(error_code, 64) if error_code else None
        self.error_message = one_line(error_message) if error_message else None
        self.request_id = one_line(request_id, 80) if request_id else None
        self.hint = one_line(hint if hint is not None else self.default_hint, 300)
        super().__init__(self._render())

    def _context(self) -> list[str]:
        parts: list[str] = []
        if self.job_id is not None:
            parts.append(f"job {self.job_id}")
        if self.project_id:
            parts.append(f"project {self.project_id}")
        if self.host:
            parts.append(f"host {self.host}")
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.error_code:
            parts.append(self.error_code)
        if self.error_message:
            parts.append(f'"{self.error_message}"')
        if self.request_id:
            parts.append(f"request-id {self.request_id}")
        return parts

    def _render(self) -> str:
        head = f"{self.operation}: {self.summary}" if self.operation else self.summary
        context = self._context()
        if context:
            head = f"{head} ({', '.join(context)})"
        if self.hint:
            head = f"{head}. {self.hint}"
        return head

    def details(self) -> dict[str, Any]:
        """The structured context, for the CLI's JSON error output and for logs."""
        return {
            "error": type(self).__name__,
            "message": str(self),
            "operation": self.operation,
            "job_id": self.job_id,
            "project_id": self.project_id,
            "host": self.host,
            "status": self.status,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "request_id": self.request_id,
        }


class InvalidInputError(ModelArtsError):
    """A value given by the user (job ID, project, name, endpoint) is unusable; nothing was sent."""


class AmbiguousJobNameError(InvalidInputError):
    """A name lookup matched several jobs; the user has to pick one by ID."""

    default_hint = "Read the one you mean by its ID"


class ConfigurationError(ModelArtsError):
    """Settings are missing, half-set or contradictory; nothing was sent."""


class JobNotFoundError(ModelArtsError):
    """The visualization job does not exist (HTTP 404, or 400 with a not-found error code)."""

    default_hint = "Check the job ID and that it belongs to this project and region"


class AuthenticationError(ModelArtsError):
    """The credentials were rejected or could not be exchanged for a token."""

    default_hint = "Check the access key/secret key, token or user/password/domain settings"


class PermissionDeniedError(ModelArtsError):
    """The credentials are valid but may not read this job or project."""

    default_hint = "Check the IAM permissions and that the project ID matches the credentials"


class ThrottledError(ModelArtsError):
    """The service kept answering 'too many requests' after every allowed retry."""

    default_hint = "Lower the parallelism or raise modelarts:maxRetries / modelarts:timeout"


class ServiceError(ModelArtsError):
    """The service failed (5xx, unexpected 4xx) or could not be reached after every retry."""


class InvalidResponseError(ModelArtsError):
    """The service answered something that is not a valid ModelArts response."""

    default_hint = "Check that the endpoint points at the ModelArts API"
