"""The simulated accounts' state: wallets and open positions (the only mutable model in the sim)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from monitor.config import SimAccountConfig, SimPositionConfig
from monitor.errors import ConfigError
from monitor.sim.brackets import BRACKETS, Bracket, tier_for
from monitor.sim.numfmt import q8

__all__ = [
    "Account",
    "MarginMode",
    "Position",
    "PositionSide",
    "account_from_config",
    "holding",
    "open_account",
    "pay_funding",
]

PositionSide = Literal["BOTH", "LONG", "SHORT"]
MarginMode = Literal["cross", "isolated"]


@dataclass(slots=True)
class Position:
    """One open position; `qty` is signed (a hedge-mode SHORT leg is negative too)."""

    symbol: str
    side: PositionSide
    qty: float
    entry: float
    margin_mode: MarginMode
    isolated_wallet: float
    leverage: float
    update_ms: int
    realized: float = 0.0  # accumulated realized PnL (funding excluded), the `cr` of ACCOUNT_UPDATE


@dataclass(slots=True)
class Account:
    name: str
    cross_wallet: float
    positions: list[Position]
    dual_side: bool  # hedge mode: legs are LONG/SHORT instead of BOTH
    permissions: tuple[str, ...]
    update_ms: int
    created_ms: int = 0
    leverage: dict[str, float] = field(default_factory=dict)  # per symbol, also for flat symbols
    margin_calls: set[str] = field(default_factory=set)  # keys ("cross" or "SYM:SIDE") above 80 %
    other_assets: dict[str, float] = field(default_factory=dict)  # non-USDT wallet balances (not margin)


def account_from_config(
    cfg: SimAccountConfig,
    path: str,
    first_mark: Callable[[str], float],
    now_ms: int,
    brackets: Mapping[str, tuple[Bracket, ...]] = BRACKETS,
) -> Account:
    """Open a Binance account, refusing what the venue would not allow (ConfigError at `path`)."""

    def leverage_cap(symbol: str, notional: float) -> tuple[float, str]:
        allowed = tier_for(brackets[symbol], notional).max_leverage
        return allowed, f"the {allowed}x the venue allows at this size"

    def no_usdt_asset(_positions: list[Position]) -> None:
        if "USDT" in cfg.other_assets:
            raise ConfigError(f"{path}.other_assets", "USDT is wallet_usdt, not another asset")

    return open_account(
        cfg,
        path,
        first_mark,
        now_ms,
        unlisted=lambda symbol: None if symbol in brackets else "the simulator does not list",
        leverage_cap=leverage_cap,
        balance=lambda p, _entry: q8(p.isolated_wallet),
        check=no_usdt_asset,
        other_assets={asset: q8(amount) for asset, amount in sorted(cfg.other_assets.items())},
    )


def open_account(
    cfg: SimAccountConfig,
    path: str,
    first_mark: Callable[[str], float],
    now_ms: int,
    *,
    unlisted: Callable[[str], str | None],
    leverage_cap: Callable[[str, float], tuple[float, str]],
    balance: Callable[[SimPositionConfig, float], float],
    check: Callable[[list[Position]], None],
    other_assets: Mapping[str, float] | None = None,
) -> Account:
    """Open a configured account on either simulated venue, refusing what it would not allow.

    One walk over the legs for both venues, so a rule both share (one leg per symbol and side, the
    qty's sign matching the side, no mix of one-way and hedge legs) cannot drift between them. What
    the venue decides is passed in: `unlisted` (why a symbol is refused, None if listed),
    `leverage_cap` (the highest leverage at a notional, and how the venue names that limit),
    `balance` (a leg's isolated balance from its config and entry) and `check` (the venue's own
    rules on the legs, run before the one-way/hedge check).
    """
    positions: list[Position] = []
    seen: set[tuple[str, str]] = set()
    for j, p in enumerate(cfg.positions):
        where = f"{path}.positions[{j}]"
        if (why := unlisted(p.symbol)) is not None:
            raise ConfigError(f"{where}.symbol", f"{why} {p.symbol}")
        if (p.symbol, p.side) in seen:
            raise ConfigError(where, f"a second {p.side} position on {p.symbol}")
        if (p.side == "LONG" and p.qty < 0) or (p.side == "SHORT" and p.qty > 0):
            raise ConfigError(
                f"{where}.qty", f"a {p.side} leg needs a {'positive' if p.side == 'LONG' else 'negative'} qty"
            )
        seen.add((p.symbol, p.side))
        entry = q8(p.entry_price) if p.entry_price is not None else first_mark(p.symbol)
        allowed, limit = leverage_cap(p.symbol, p.qty * entry)
        if p.leverage > allowed:
            raise ConfigError(f"{where}.leverage", f"{p.leverage:g}x is above {limit}")
        positions.append(
            Position(p.symbol, p.side, q8(p.qty), entry, p.margin_mode, balance(p, entry), p.leverage, now_ms)
        )
    check(positions)
    sides = {p.side == "BOTH" for p in positions}
    if len(sides) > 1:
        raise ConfigError(f"{path}.positions", "mix of one-way (BOTH) and hedge (LONG/SHORT) legs")
    return Account(
        name=cfg.name,
        cross_wallet=q8(cfg.wallet_usdt),
        positions=positions,
        dual_side=sides == {False},
        permissions=tuple(cfg.permissions),
        update_ms=now_ms,
        created_ms=now_ms,
        leverage={p.symbol: p.leverage for p in positions},
        other_assets=dict(other_assets or {}),
    )


def holding(accounts: Iterable[Account], symbol: str) -> Iterator[tuple[Account, list[Position]]]:
    """Each account that holds `symbol`, with its legs on it (a settlement visits only these)."""
    for acct in accounts:
        legs = [p for p in acct.positions if p.symbol == symbol]
        if legs:
            yield acct, legs


def pay_funding(acct: Account, p: Position, mark: float, rate: float) -> float:
    """Pay the leg `−q × mark × rate` into the wallet that margins it (its own when isolated, the
    account's cross wallet otherwise), as both simulated venues settle funding; returns the amount."""
    amount = q8(-p.qty * mark * rate)
    if p.margin_mode == "isolated":
        p.isolated_wallet = q8(p.isolated_wallet + amount)
    else:
        acct.cross_wallet = q8(acct.cross_wallet + amount)
    return amount
