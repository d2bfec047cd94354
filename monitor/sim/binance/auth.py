"""Request authentication exactly as Binance does it (venues.md §1.11).

SIGNED: HMAC-SHA256, hex, keyed by the API secret, over the *raw* query string concatenated with the
*raw* body as received, with the `signature` parameter removed. Rebuilding the string from parsed
parameters could reorder or re-encode it and accept what the venue rejects. The key travels in
`X-MBX-APIKEY`; `timestamp` must fall in [serverTime − recvWindow, serverTime + 1000 ms].
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from monitor.secret import Secret
from monitor.sim.replies import VenueError, missing_param

__all__ = ["KeyRing", "SignedRequest", "sign", "split_signature", "verify_signed"]

MAX_RECV_WINDOW_MS = 60_000
DEFAULT_RECV_WINDOW_MS = 5_000
FUTURE_TOLERANCE_MS = 1_000


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


class KeyRing:
    """API key → account; secrets stay wrapped until the moment of signing."""

    def __init__(self, keys: Mapping[str, tuple[Secret, Secret]]) -> None:
        self._by_key = {pair[0].reveal(): (name, pair[1]) for name, pair in keys.items()}

    def lookup(self, api_key: str | None) -> tuple[str, Secret]:
        """(account name, API secret) for a key, or the venue's rejection."""
        if not api_key:
            raise VenueError(401, -2014, "API-key format invalid.")
        found = self._by_key.get(api_key)
        if found is None:
            raise VenueError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        return found

    def account_for(self, api_key: str | None) -> str:
        return self.lookup(api_key)[0]


@dataclass(frozen=True, slots=True)
class SignedRequest:
    account: str
    params: dict[str, str]  # query and body merged; the query wins


def split_signature(raw: str) -> tuple[str, str | None]:
    """Drop `signature=…` from a raw parameter string, keeping every other byte as received."""
    kept: list[str] = []
    signature: str | None = None
    for part in raw.split("&") if raw else []:
        if part.startswith("signature="):
            signature = part[len("signature=") :]
        else:
            kept.append(part)
    return "&".join(kept), signature


def _params(raw_query: str, raw_body: str) -> dict[str, str]:
    params = dict(parse_qsl(raw_body, keep_blank_values=True))
    params.update(parse_qsl(raw_query, keep_blank_values=True))
    return params


def _check_time(params: Mapping[str, str], now_ms: int) -> None:
    ts = params.get("timestamp", "")
    if not ts.lstrip("-").isdigit():
        raise missing_param("timestamp")
    window_raw = params.get("recvWindow", str(DEFAULT_RECV_WINDOW_MS))
    try:
        window = int(float(window_raw))
    except ValueError:
        raise missing_param("recvWindow") from None
    if window <= 0 or window > MAX_RECV_WINDOW_MS:
        raise VenueError(400, -1131, "recvWindow must be less than 60000")
    t = int(ts)
    if t > now_ms + FUTURE_TOLERANCE_MS:
        raise VenueError(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    if t < now_ms - window:
        raise VenueError(400, -1021, "Timestamp for this request is outside of the recvWindow.")


def verify_signed(
    keys: KeyRing, api_key: str | None, raw_query: str, raw_body: str, now_ms: int
) -> SignedRequest:
    """Authenticate a SIGNED request or raise the venue's error for the first check that fails."""
    account, secret = keys.lookup(api_key)
    query, sig_q = split_signature(raw_query)
    body, sig_b = split_signature(raw_body)
    signature = sig_q if sig_q is not None else sig_b
    params = _params(query, body)
    if not signature:
        raise missing_param("signature")
    _check_time(params, now_ms)
    expected = sign(secret.reveal(), query + body)
    if not hmac.compare_digest(expected, signature.lower()):
        raise VenueError(400, -1022, "Signature for this request is not valid.")
    return SignedRequest(account, params)
