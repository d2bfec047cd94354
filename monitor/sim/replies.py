"""HTTP replies the way the venue sends them: JSON bodies, `{"code","msg"}` errors, weight headers.

ccxt picks its exception from the error *code* in the body (-1021 → InvalidNonce, -1022/-2015 →
AuthenticationError, -1121 → BadSymbol), and from the status only for 418/429, so both matter.
"""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

__all__ = ["VenueError", "bad_symbol", "error_response", "json_reply", "missing_param"]

_encoder = msgspec.json.Encoder()


class VenueError(Exception):
    """An error answer: HTTP status, venue code and message (and extra headers, e.g. Retry-After)."""

    def __init__(
        self, status: int, code: int, msg: str, headers: dict[str, str] | None = None, plain: bool = False
    ) -> None:
        super().__init__(f"{code} {msg}")
        self.status = status
        self.code = code
        self.msg = msg
        self.headers = headers or {}
        self.plain = plain  # a gateway error page rather than a venue JSON error


def json_reply(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=_encoder.encode(payload), status=status, content_type="application/json", headers=headers
    )


def error_response(err: VenueError) -> web.Response:
    if err.plain:
        return web.Response(text=err.msg, status=err.status, headers=err.headers)
    return json_reply({"code": err.code, "msg": err.msg}, status=err.status, headers=err.headers)


def missing_param(name: str) -> VenueError:
    return VenueError(400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def bad_symbol() -> VenueError:
    return VenueError(400, -1121, "Invalid symbol.")
