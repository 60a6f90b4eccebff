"""Delivering one activity to one inbox: sign, POST through the node's outbound gate
(`federation.gate`, which asks whether the inbox's host may be contacted at all), and say what
the answer means.

Pure HTTP: no database. The node's delivery worker turns an `Outcome` into done, retry at a
time, or failed for good, and keeps each peer's health.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.addresses import FetchError, refusal_in
from federation.gate import ContactRefused, OutboundGate, Purpose
from federation.signatures import sign_request
from federation.vocab import AP_CONTENT_TYPE

DELIVERY_TIMEOUT = aiohttp.ClientTimeout(total=30, sock_connect=10)
MAX_RETRY_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Outcome:
    # "delivered" | "retry" | "final" | "refused" (the node's trust policy refused contact with
    # the inbox's host at the gate, which audited it: final, and not to be audited again)
    kind: str
    status: int | None
    reason: str
    retry_at: datetime | None = None  # set when the peer said when (Retry-After)

    @property
    def delivered(self) -> bool:
        return self.kind == "delivered"


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """Retry-After as seconds or an HTTP date; capped at a day, never in the past."""
    if not value:
        return None
    value = value.strip()
    when: datetime | None = None
    if value.isdigit():
        when = now + timedelta(seconds=int(value))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    return max(now, min(when, now + MAX_RETRY_AFTER))


def classify(status: int, retry_after: str | None, now: datetime) -> Outcome:
    """2xx done; 429 and 503 honour Retry-After; other 4xx final except 401 and 408; 5xx retry."""
    if 200 <= status < 300:
        return Outcome("delivered", status, "delivered")
    if status in (429, 503):
        return Outcome("retry", status, f"peer answered {status}", parse_retry_after(retry_after, now))
    if 400 <= status < 500 and status not in (401, 408):
        return Outcome("final", status, f"peer refused with {status}")
    return Outcome("retry", status, f"peer answered {status}")


async def deliver(
    gate: OutboundGate,
    inbox: str,
    body: bytes,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    *,
    now: datetime | None = None,
) -> Outcome:
    headers = sign_request(
        "POST", inbox, {"Content-Type": AP_CONTENT_TYPE, "Accept": AP_CONTENT_TYPE}, body, key_id, private_key
    )
    try:
        async with gate.request(
            "POST", inbox, purpose=Purpose.DELIVERY, data=body, headers=headers, timeout=DELIVERY_TIMEOUT
        ) as response:
            # Read a little of the answer so the connection can be reused; ignore the rest.
            await response.content.read(4096)
            return classify(response.status, response.headers.get("Retry-After"), now or datetime.now(UTC))
    except ContactRefused as exc:
        return Outcome("refused", None, exc.reason)
    except (TimeoutError, aiohttp.ClientError, OSError, FetchError) as exc:
        refused = refusal_in(exc)
        if refused is not None:
            # Our own address policy said no: retrying will not change that.
            return Outcome("final", None, str(refused))
        if isinstance(exc, FetchError) and exc.status in (400, 403):
            # An inbox URL the node will never use (another scheme, user-info, an odd literal).
            return Outcome("final", None, str(exc))
        return Outcome("retry", None, f"{type(exc).__name__}: {exc}"[:500])
