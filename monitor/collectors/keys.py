"""API key permissions, checked before an account is watched: perpmon needs to read, nothing more.

A monitoring daemon holds its keys around the clock on a server; a leaked read-only key shows a
book, a leaked trading key can empty it. So a key that can withdraw is always refused, one that
can trade or move funds is refused unless the account says `allow_trading_key = true`, and one
without an IP whitelist is a warning. The error names the account and the config key, never the
API key.

Where the venue tells (`Binance GET /sapi/v1/account/apiRestrictions`, OKX account config `perm`,
Bybit `/v5/user/query-api`), the flags come from it; elsewhere the key is refused unless the
config accepts it unverified with `allow_trading_key = true`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.errors import ConfigError

__all__ = [
    "KeyPermissions",
    "KeyRefusedError",
    "binance_permissions",
    "bybit_permissions",
    "judge_key",
    "okx_permissions",
]

_BINANCE_WITHDRAW = ("enableWithdrawals",)
_BINANCE_TRANSFER = ("enableInternalTransfer", "permitsUniversalTransfer")
_BINANCE_TRADE = (
    "enableSpotAndMarginTrading",
    "enableFutures",
    "enableMargin",
    "enableVanillaOptions",
    "enablePortfolioMarginTrading",
    "enableFixApiTrade",
)


class KeyRefusedError(ConfigError):
    """An account's key may do more than read; start-up stops (exit 2) naming the account."""


@dataclass(frozen=True, slots=True)
class KeyPermissions:
    """What a key can do, as the venue reports it; each tuple names the granting flags."""

    withdraw: tuple[str, ...] = ()
    trade: tuple[str, ...] = ()
    transfer: tuple[str, ...] = ()
    ip_restricted: bool | None = None  # None: the venue did not say
    verified: bool = True  # False: this venue has no permission call perpmon knows


def binance_permissions(body: Mapping[str, Any]) -> KeyPermissions:
    """`GET /sapi/v1/account/apiRestrictions`.

    ``{"ipRestrict":false,"createTime":1698645219000,"enableReading":true,"enableWithdrawals":false,
    "enableInternalTransfer":false,"enableMargin":false,"enableFutures":false,
    "permitsUniversalTransfer":false,"enableVanillaOptions":false,"enableFixApiTrade":false,
    "enableFixReadOnly":false,"enableSpotAndMarginTrading":false,"enablePortfolioMarginTrading":false}``
    """

    def on(flags: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(f for f in flags if body.get(f) is True)

    return KeyPermissions(
        withdraw=on(_BINANCE_WITHDRAW),
        trade=on(_BINANCE_TRADE),
        transfer=on(_BINANCE_TRANSFER),
        ip_restricted=bool(body.get("ipRestrict", False)),
    )


def okx_permissions(body: Mapping[str, Any]) -> KeyPermissions:
    """`GET /api/v5/account/config`: ``{"code":"0","data":[{"perm":"read_only,trade","ip":"1.2.3.4",…}]}``."""
    row = (body.get("data") or [{}])[0]
    perms = {p.strip() for p in str(row.get("perm", "")).split(",") if p.strip()}
    return KeyPermissions(
        withdraw=("withdraw",) if "withdraw" in perms else (),
        trade=("trade",) if "trade" in perms else (),
        ip_restricted=bool(str(row.get("ip", "")).strip()),
    )


def bybit_permissions(body: Mapping[str, Any]) -> KeyPermissions:
    """`GET /v5/user/query-api`: ``{"result":{"readOnly":1,"ips":["*"],"permissions":{"Wallet":[…],…}}}``."""
    res = body.get("result") or {}
    groups: Mapping[str, Any] = res.get("permissions") or {}
    granted = [(g, str(p)) for g, items in groups.items() for p in (items or [])]
    withdraw = tuple(f"{g}.{p}" for g, p in granted if "withdraw" in p.lower())
    transfer = tuple(f"{g}.{p}" for g, p in granted if "transfer" in p.lower())
    trade = ("readOnly=0",) if int(res.get("readOnly", 0)) == 0 else ()
    ips = [str(i) for i in res.get("ips") or []]
    return KeyPermissions(
        withdraw=withdraw, trade=trade, transfer=transfer, ip_restricted=bool(ips) and "*" not in ips
    )


def judge_key(account: str, path: str, perms: KeyPermissions, allow_trading: bool) -> list[str]:
    """Raise `KeyRefusedError` for a key perpmon must not hold; return warnings for the log."""
    if perms.withdraw:
        raise KeyRefusedError(
            path,
            f"account {account!r}: its API key can withdraw ({', '.join(perms.withdraw)}); perpmon "
            "never runs with a withdrawal-enabled key, whatever the config says — use a read-only key",
        )
    if not perms.verified and not allow_trading:
        raise KeyRefusedError(
            f"{path}.allow_trading_key",
            f"account {account!r}: perpmon cannot read this venue's key permissions; use a read-only key "
            "and set allow_trading_key = true to accept it unverified",
        )
    powers = perms.trade + perms.transfer
    if powers and not allow_trading:
        raise KeyRefusedError(
            f"{path}.allow_trading_key",
            f"account {account!r}: its API key can trade or move funds ({', '.join(powers)}); perpmon "
            "only reads — use a read-only key, or set allow_trading_key = true to accept this one",
        )
    warnings = []
    if perms.ip_restricted is False:
        warnings.append(f"account {account!r}: the API key has no IP whitelist")
    if powers:
        warnings.append(f"account {account!r}: accepted a key that can trade ({', '.join(powers)})")
    return warnings
