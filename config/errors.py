"""One error type for the whole product. Services raise DomainError with a contract code; the DRF
exception handler and the page helper turn it into the contract's error body or a message."""

from typing import Any

from django.utils.translation import gettext, gettext_noop

STATUS_BY_CODE = {
    "validation_error": 400,
    "not_authenticated": 401,
    "permission_denied": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "rate_limited": 429,
    "server_error": 500,
    "service_unavailable": 503,
}
# Everything else (sold_out, already_purchased, invalid_state, ...) is a 409 conflict.
DEFAULT_STATUS = 409

MESSAGES = {
    "validation_error": gettext_noop("The request is not valid."),
    "not_found": gettext_noop("Not found."),
    "sold_out": gettext_noop("This voucher is sold out."),
    "already_purchased": gettext_noop("You already hold this voucher."),
    "purchase_limit_reached": gettext_noop("You reached the purchase limit for this voucher."),
    "not_started": gettext_noop("The sale has not started yet."),
    "ended": gettext_noop("The sale has ended."),
    "insufficient_funds": gettext_noop("Your wallet balance does not cover this amount."),
    "invalid_state": gettext_noop("This action is not possible in the current state."),
    "already_parked": gettext_noop("This vehicle is already parked here."),
    "not_parked": gettext_noop("This vehicle is not parked here."),
    "lot_full": gettext_noop("The lot is full."),
    "idempotency_conflict": gettext_noop("This Idempotency-Key was used for a different request."),
}


class DomainError(Exception):
    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        status: int | None = None,
    ) -> None:
        self.code = code
        self.message = message or MESSAGES.get(code, code.replace("_", " ").capitalize() + ".")
        self.details = details or {}
        self.status = status or STATUS_BY_CODE.get(code, DEFAULT_STATUS)
        super().__init__(f"{code}: {self.message}")

    def as_body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.details)


def page_message(exc: DomainError) -> str:
    """The page side of the one error type: the error's message in the reader's language (service
    messages are marked with gettext_noop where they are raised; the API answers them in English)."""
    return gettext(exc.message)


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}
