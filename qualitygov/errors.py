"""Domain errors raised by services. The API maps them to 4xx responses in one place (qualitygov.api)."""

from django.core.exceptions import PermissionDenied


class DomainError(Exception):
    """A request that breaks a business rule (illegal move, bad reference). HTTP 400."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid", details=None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
        # Extra machine-readable facts for the API body (e.g. the gates that refused a release move).
        self.details: dict = dict(details or {})


class ConflictError(DomainError):
    """The object changed under the caller (concurrent edit, duplicate submission). HTTP 409."""

    status_code = 409

    def __init__(self, message: str, *, field: str | None = None, code: str = "conflict", details=None):
        super().__init__(message, field=field, code=code, details=details)


class AccessDenied(DomainError, PermissionDenied):
    """The user's project role does not allow this action. HTTP 403: the API's exception handler answers it as a
    domain error, and pages get Django's 403 page (it is a PermissionDenied too)."""

    status_code = 403

    def __init__(self, message: str = "Your role in this project does not allow this action.", **kwargs):
        super().__init__(message, code=kwargs.pop("code", "permission_denied"), **kwargs)


class PayloadTooLarge(DomainError):
    status_code = 413

    def __init__(self, message: str, **kwargs):
        super().__init__(message, code=kwargs.pop("code", "too_large"), **kwargs)
