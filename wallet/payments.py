"""Payment providers behind one interface. A provider starts a charge for a top-up and later
confirms it, either at once (the sandbox) or through the signed webhook
(`POST /api/v1/wallet/webhooks/<provider>`). Every webhook body is signed with HMAC-SHA256 over the
raw bytes using settings.PAYMENT_WEBHOOK_SECRET, sent hex-encoded in the `X-Signature` header."""

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

SIGNATURE_HEADER = "X-Signature"


@dataclass(frozen=True)
class Charge:
    """What a provider answers when a charge starts."""

    txn_id: str
    succeeded: bool  # True when the money is already confirmed (no webhook to wait for)


class PaymentProvider(Protocol):
    name: str

    def start_charge(self, *, amount: int, user_id: int, reference: str | None = None) -> Charge:
        """Ask the provider to collect `amount` minor units from the customer. `reference` is the
        merchant's own id for the charge: the same reference names the same transaction, so a
        repeated start cannot charge twice."""
        ...


class SandboxProvider:
    """Succeeds at once. Used by the demo, the pages and the tests."""

    name = "sandbox"

    def start_charge(self, *, amount: int, user_id: int, reference: str | None = None) -> Charge:
        return Charge(txn_id=f"sbx_{uuid.uuid4().hex}", succeeded=True)


class WebhookOnlyProvider:
    """Confirms only through the webhook, as a real card or QR-code provider does. Used to exercise
    the webhook path end to end (tests, manual checks)."""

    name = "sandbox_async"

    def start_charge(self, *, amount: int, user_id: int, reference: str | None = None) -> Charge:
        return Charge(txn_id=f"sba_{uuid.uuid4().hex}", succeeded=False)


PROVIDERS: dict[str, PaymentProvider] = {p.name: p for p in (SandboxProvider(), WebhookOnlyProvider())}
DEFAULT_PROVIDER = SandboxProvider.name


def enabled_providers() -> list[str]:
    """Providers this deployment accepts (settings.PAYMENT_PROVIDERS). Production enables none by
    default: a sandbox that credits at once must never be reachable there by accident."""
    return [name for name in settings.PAYMENT_PROVIDERS if name in PROVIDERS]


def get_provider(name: str) -> PaymentProvider | None:
    return PROVIDERS.get(name) if name in enabled_providers() else None


def sign_webhook(body: bytes) -> str:
    return hmac.new(settings.PAYMENT_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(body: bytes, signature: str | None) -> bool:
    """Constant-time comparison of bytes: a header value outside ASCII is simply a wrong signature
    (compare_digest refuses non-ASCII str with a TypeError)."""
    if not signature:
        return False
    given = signature.strip().lower().encode("utf-8", "surrogateescape")
    return hmac.compare_digest(sign_webhook(body).encode(), given)
