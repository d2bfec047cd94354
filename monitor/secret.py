"""Secrets as a type: API keys, webhook URLs and bot tokens never print themselves.

A `Secret` is revealed only at the point of use (signing a request, opening a socket); `repr`,
`str`, logging and JSON all see `<redacted>`. `redact_url` strips credentials, paths and queries
from URLs that appear in transport errors, since webhook URLs carry their token in the path.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["REDACTED", "Secret", "redact_text", "redact_url"]

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
    except ValueError:
        return REDACTED
    if not parts.scheme or not parts.hostname:
        return REDACTED
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/{REDACTED}"


def redact_text(text: str, secrets: list[Secret] | tuple[Secret, ...]) -> str:
    """Remove every revealed secret value from a message (exception texts from libraries)."""
    for s in secrets:
        value = s.reveal()
        if value:
            text = text.replace(value, REDACTED)
    return text
