"""OKX v5 signing, checked as the venue checks it: REST headers and the WebSocket login.

REST: `OK-ACCESS-KEY`, `OK-ACCESS-PASSPHRASE`, `OK-ACCESS-TIMESTAMP` (ISO 8601 UTC with ms) and
`OK-ACCESS-SIGN` = Base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath[?query] + body)).
WebSocket: `{"op":"login","args":[{"apiKey","passphrase","timestamp","sign"}]}` with the timestamp
in Unix SECONDS and sign over `timestamp + "GET" + "/users/self/verify"`. Both expire 30 s off the
venue's clock. Failures carry OKX's codes (venues-next §c, as `ccxt/okx.py` maps them): REST
50103/50104/50106/50107 a header missing, 50111 invalid key, 50105 wrong passphrase, 50113 invalid
signature, 50102 timestamp expired, 50112 invalid timestamp, all HTTP 401; WebSocket 60009 login
failed, 60006 timestamp expired, 60005 invalid key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime

from monitor.secret import Secret

__all__ = ["EXPIRY_S", "OkxAuthError", "OkxKeyRing", "okx_sign", "verify_login", "verify_rest"]

EXPIRY_S = 30.0


class OkxAuthError(Exception):
    def __init__(self, code: str, msg: str, status: int = 401) -> None:
        super().__init__(f"{code} {msg}")
        self.code, self.msg, self.status = code, msg, status


def okx_sign(secret: str, prehash: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()).decode()


class OkxKeyRing:
    """API key → (account, secret, passphrase); a key without its passphrase is not a usable key."""

    def __init__(self, keys: Mapping[str, tuple[Secret, Secret]], passwords: Mapping[str, Secret]) -> None:
        self._by_key = {
            k.reveal(): (name, s, passwords[name]) for name, (k, s) in keys.items() if name in passwords
        }

    def check(self, key: str, passphrase: str, prehash: str, sign: str, where: str) -> str:
        """The account of a correctly signed request; `OkxAuthError` with the venue's code otherwise."""
        ws = where == "ws"
        entry = self._by_key.get(key)
        if entry is None:
            raise OkxAuthError("60005" if ws else "50111", "Invalid OK-ACCESS-KEY")
        name, secret, password = entry
        if not hmac.compare_digest(passphrase, password.reveal()):
            raise OkxAuthError(
                "60009" if ws else "50105", "Login failed." if ws else "Invalid OK-ACCESS-PASSPHRASE"
            )
        if not hmac.compare_digest(sign, okx_sign(secret.reveal(), prehash)):
            raise OkxAuthError("60007" if ws else "50113", "Invalid Sign")
        return name

    def uid_of(self, name: str) -> str:
        return str(44_000_000_000 + sum(map(ord, name)) * 7919)


_HEADERS = (
    ("OK-ACCESS-KEY", "50103"),
    ("OK-ACCESS-PASSPHRASE", "50104"),
    ("OK-ACCESS-SIGN", "50106"),
    ("OK-ACCESS-TIMESTAMP", "50107"),
)


def verify_rest(
    keys: OkxKeyRing, headers: Mapping[str, str], method: str, path_qs: str, body: str, now_ms: int
) -> str:
    for name, code in _HEADERS:
        if not headers.get(name):
            raise OkxAuthError(code, f"Request header {name} can't be empty.")
    ts = headers["OK-ACCESS-TIMESTAMP"]
    try:
        at_ms = datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000
    except ValueError:
        raise OkxAuthError("50112", "Invalid OK-ACCESS-TIMESTAMP") from None
    if abs(now_ms - at_ms) > EXPIRY_S * 1000:
        raise OkxAuthError("50102", "Timestamp request expired")
    prehash = ts + method.upper() + path_qs + body
    return keys.check(
        headers["OK-ACCESS-KEY"], headers["OK-ACCESS-PASSPHRASE"], prehash, headers["OK-ACCESS-SIGN"], "rest"
    )


def verify_login(keys: OkxKeyRing, args: object, now_ms: int) -> str:
    """The account a `login` op logs in; `OkxAuthError` (60xxx) otherwise."""
    if not isinstance(args, list) or len(args) != 1 or not isinstance(args[0], dict):
        raise OkxAuthError("60012", "Illegal request")
    a = args[0]
    for field, code in (("apiKey", "60001"), ("sign", "60002"), ("passphrase", "60003")):
        if not isinstance(a.get(field), str) or not a[field]:
            raise OkxAuthError(code, f"{field} can't be empty")
    ts = a.get("timestamp")
    try:
        at_s = float(str(ts))
    except ValueError:
        raise OkxAuthError("60004", "Invalid timestamp") from None
    if abs(now_ms / 1000 - at_s) > EXPIRY_S:
        raise OkxAuthError("60006", "Timestamp request expired")
    return keys.check(a["apiKey"], a["passphrase"], f"{ts}GET/users/self/verify", a["sign"], "ws")
