"""Secrets as a type: API keys, webhook URLs and bot tokens never print themselves.

A `Secret` is revealed only at the point of use (signing a request, opening a socket); `repr`,
`str`, logging and JSON all see `<redacted>`. `redact_url` strips credentials, paths and queries
from URLs that appear in transport errors, since webhook URLs carry their token in the path.
Both it and `url_problem` take any string and never raise: they run on the error paths, where an
exception would turn one bad URL into a crash or an endless retry.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["REDACTED", "Secret", "redact_text", "redact_url", "url_problem"]

REDACTED = "<redacted>"


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


def redact_url(url: str) -> str:
    """Keep scheme and host so an operator can tell which receiver failed; drop everything else."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return REDACTED
    if not parts.scheme or not host:
        return REDACTED
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is not a number (or out of range): say so, never echo it
        port = ":<bad-port>"
    return f"{parts.scheme}://{host}{port}/{REDACTED}"


def url_problem(url: str) -> str:
    """Why an HTTP(S) receiver URL cannot be used ("" when it can); the reason never quotes the URL.

    Checked once when the config is read (so `check-config` refuses it) and again before each
    send, where a URL that cannot work is a permanent failure rather than a retry.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises on a port that is not a number from 0 to 65535
    except ValueError as exc:
        return "port is not a number from 0 to 65535" if "port" in str(exc).lower() else "not a URL"
    if parts.scheme not in ("http", "https"):
        return "scheme must be http or https"
    if not host:
        return "no host"
    if any(c.isspace() or not c.isprintable() for c in url):
        return "contains whitespace or control characters"
    return ""


def redact_text(text: str, secrets: list[Secret] | tuple[Secret, ...]) -> str:
    """Remove every revealed secret value from a message (exception texts from libraries)."""
    for s in secrets:
        value = s.reveal()
        if value:
            text = text.replace(value, REDACTED)
    return text
