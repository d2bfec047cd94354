"""Bybit v5 request and WebSocket authentication, and the venue's error envelope (venues.md §5, §4.2).

REST: the key travels in `X-BAPI-API-KEY`; `X-BAPI-SIGN` is hex HMAC-SHA256 (secret) over
`timestamp + apiKey + recvWindow + payload`, the payload being the *raw* query string of a GET or the
raw JSON body of a POST, as received. `X-BAPI-TIMESTAMP` must satisfy
`server − recvWindow ≤ timestamp < server + 1000` (default window 5000 ms). Errors are JSON
`{"retCode","retMsg","result":{},"retExtInfo":{},"time"}`; ccxt maps 10002 → InvalidNonce and
10003/10004 → AuthenticationError from `retCode` alone. The venue sends 401 for a missing or unknown
key and 200 for the others. Its sign error echoes the signed string; here the prefix holding the key
is masked (`***`), as the venue's newer message does, so no client log ever carries it.
WebSocket: `{"op":"auth","args":[apiKey, expires, hex HMAC(secret, "GET/realtime" + expires)]}`, with
`expires` (ms) still in the future.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from monitor.secret import Secret

__all__ = [
    "BybitError",
    "BybitKeyRing",
    "bybit_sign",
    "realtime_signature",
    "signed_headers",
    "verify_rest",
    "verify_ws_auth",
]

DEFAULT_RECV_WINDOW_MS = 5_000
FUTURE_TOLERANCE_MS = 1_000


class BybitError(Exception):
    """A Bybit error answer: retCode/retMsg with its HTTP status (or a plain gateway page)."""

    def __init__(self, ret_code: int, msg: str, status: int = 200, plain: bool = False) -> None:
        super().__init__(f"{ret_code} {msg}")
        self.ret_code = ret_code
        self.msg = msg
        self.status = status
        self.plain = plain


def bybit_sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def realtime_signature(secret: str, expires_ms: int | str) -> str:
    return bybit_sign(secret, f"GET/realtime{expires_ms}")


def signed_headers(
    api_key: str, secret: str, payload: str, timestamp_ms: int, recv_window_ms: int = DEFAULT_RECV_WINDOW_MS
) -> dict[str, str]:
    """The four X-BAPI-* headers of a private call, signed as ccxt and the venue's SDKs sign them."""
    ts, window = str(timestamp_ms), str(recv_window_ms)
    return {
        "X-BAPI-API-KEY": api_key,
        "X-BAPI-TIMESTAMP": ts,
        "X-BAPI-RECV-WINDOW": window,
        "X-BAPI-SIGN": bybit_sign(secret, ts + api_key + window + payload),
    }


class BybitKeyRing:
    """API key → (account, secret); secrets stay wrapped until the moment of checking."""

    def __init__(self, keys: Mapping[str, tuple[Secret, Secret]]) -> None:
        self._by_key = {pair[0].reveal(): (name, pair[1]) for name, pair in keys.items()}

    def uid_of(self, api_key: str | None) -> str | None:
        """The account a key names (its UID, for per-UID limits), or None for an unknown key."""
        found = self._by_key.get(api_key or "")
        return None if found is None else found[0]

    def lookup(self, api_key: str | None) -> tuple[str, Secret]:
        found = self._by_key.get(api_key or "")
        if found is None:
            raise BybitError(10003, "API key is invalid.", status=401)
        return found


def verify_rest(keys: BybitKeyRing, headers: Mapping[str, str], payload: str, now_ms: int) -> str:
    """Authenticate a private call; return its account or raise the venue's error."""
    account, secret = keys.lookup(headers.get("X-BAPI-API-KEY"))
    ts_raw = headers.get("X-BAPI-TIMESTAMP", "")
    window_raw = headers.get("X-BAPI-RECV-WINDOW", str(DEFAULT_RECV_WINDOW_MS))
    signature = headers.get("X-BAPI-SIGN", "")
    if not ts_raw.isdigit() or not window_raw.isdigit():
        raise BybitError(10001, "Request parameter error: timestamp or recv_window.")
    ts, window = int(ts_raw), int(window_raw)
    if not (now_ms - window <= ts < now_ms + FUTURE_TOLERANCE_MS):
        raise BybitError(
            10002,
            "invalid request, please check your server timestamp or recv_window param. "
            f"req_timestamp[{ts}],server_timestamp[{now_ms}],recv_window[{window}]",
        )
    expected = bybit_sign(
        secret.reveal(), f"{ts_raw}{headers.get('X-BAPI-API-KEY', '')}{window_raw}{payload}"
    )
    if not signature or not hmac.compare_digest(expected, signature.lower()):
        raise BybitError(
            10004,
            f"Error sign, please check your signature generation algorithm: origin_string[***{payload}]",
        )
    return account


def verify_ws_auth(keys: BybitKeyRing, args: object, now_ms: int) -> tuple[str | None, str]:
    """(account, "") when `args` authenticate, else (None, the venue's ret_msg)."""
    if not isinstance(args, list) or len(args) != 3:
        return None, "Params Error"
    api_key, expires, signature = (str(a) for a in args)
    try:
        account, secret = keys.lookup(api_key)
    except BybitError:
        return None, "error:invalid api key"
    if not expires.isdigit() or int(expires) <= now_ms:
        return None, "error:request expired"
    if not hmac.compare_digest(realtime_signature(secret.reveal(), expires), signature.lower()):
        return None, "error:signature verification failed"
    return account, ""
