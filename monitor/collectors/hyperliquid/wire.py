"""Hyperliquid frames and info replies → perpmon's records (marks, funding, tiers, account snapshots).

Perps are named by coin (`BTC`), settled in USDC; perpmon keeps the coin as the symbol. Socket
frames are `{"channel":…,"data":…}` [doc]: `activeAssetCtx` carries mark, oracle (perpmon's index)
and the **hourly** funding rate; it has no venue timestamp, so a mark is stamped on receipt.
Acks (`subscriptionResponse`) and `pong` are no records; `{"channel":"error"}` and anything
malformed raise `ParseError` (counted and dropped by the feed, never a reconnect). Info replies go
through `margin_wire`'s typed parsers, so a bad field names its path.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

import msgspec

from monitor.collectors.hyperliquid.margin_wire import (
    HlAssetCtx,
    HlClearinghouseState,
    HlMeta,
    hl_asset_brackets,
    parse_clearinghouse_state,
    parse_meta_and_asset_ctxs,
)
from monitor.errors import ParseError
from monitor.records import Balance, Bracket, FundingInfo, LeverageTiers, MarkPrice, Position, Record
from monitor.risk.hyperliquid_margin import HL_HOURLY_FUNDING_CAP

__all__ = [
    "FUNDING_INTERVAL_S",
    "account_parts",
    "ctx_marks",
    "funding_infos",
    "leverage_tiers",
    "parse_public_frame",
]

FUNDING_INTERVAL_S = 3600.0  # hourly [doc]
_NS = 1_000_000_000


def _next_hour_ns(now_ns: int) -> int:
    hour = 3600 * _NS
    return (now_ns // hour + 1) * hour


def _mark(coin: str, ctx: HlAssetCtx, venue: str, now_ns: int) -> MarkPrice:
    return MarkPrice(
        venue=venue,
        ts_event_ns=now_ns,
        ts_recv_ns=now_ns,
        symbol=coin,
        mark=ctx.mark_px,
        index=ctx.oracle_px,
        funding_rate=ctx.funding,  # hourly
        next_funding_ns=_next_hour_ns(now_ns),
    )


def parse_public_frame(raw: bytes | str, now_ns: int, *, venue: str) -> list[Record]:
    """One socket frame → records. ``{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"funding":
    "0.0000125","openInterest":"688.11","prevDayPx":"15.322","dayNtlVlm":"1169046.29","oraclePx":"14.32",
    "markPx":"14.3161","premium":"0.00031774","midPx":"14.314","impactPxs":["14.3047","14.3444"]}}}``
    """
    try:
        frame = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise ParseError("json", repr(raw[:60])) from None
    if not isinstance(frame, dict):
        raise ParseError("schema", "frame is not an object")
    channel = frame.get("channel")
    if channel in ("subscriptionResponse", "pong"):
        return []
    if channel == "error":
        raise ParseError("venue_error", str(frame.get("data"))[:80])
    if channel != "activeAssetCtx":
        return []  # allMids and the user channels are read elsewhere
    data = frame.get("data")
    coin = data.get("coin") if isinstance(data, dict) else None
    if not isinstance(coin, str) or not isinstance(data, dict):
        raise ParseError("schema", "activeAssetCtx without coin")
    try:
        ctx = msgspec.convert(data.get("ctx"), HlAssetCtx, strict=False)
    except msgspec.ValidationError as exc:
        raise ParseError("schema", f"activeAssetCtx {coin}: {exc}") from None
    if not (ctx.mark_px > 0 and ctx.oracle_px > 0):
        raise ParseError("bad_number", f"activeAssetCtx {coin}: non-positive price")
    return [_mark(coin, ctx, venue, now_ns)]


def ctx_marks(body: Any, venue: str, now_ns: int, coins: Collection[str]) -> list[MarkPrice]:
    """`metaAndAssetCtxs` → a mark per watched coin (the REST seed before the socket speaks)."""
    both = parse_meta_and_asset_ctxs(body)
    return [
        _mark(a.name, c, venue, now_ns)
        for a, c in zip(both.meta.universe, both.ctxs, strict=True)
        if a.name in coins and c.mark_px > 0
    ]


def funding_infos(meta: HlMeta, venue: str, now_ns: int, coins: Collection[str]) -> list[FundingInfo]:
    """Hourly funding capped at ±4 %/h for every listed watched coin [doc]."""
    cap = HL_HOURLY_FUNDING_CAP
    return [
        FundingInfo(
            venue=venue,
            ts_event_ns=now_ns,
            ts_recv_ns=now_ns,
            symbol=a.name,
            interval_s=FUNDING_INTERVAL_S,
            cap=cap,
            floor=-cap,
        )
        for a in meta.universe
        if a.name in coins
    ]


def leverage_tiers(
    meta: HlMeta, venue: str, account: str, now_ns: int, coins: Collection[str]
) -> list[LeverageTiers]:
    """Each watched coin's maintenance tiers (`hl_asset_brackets`: mmr = 1/(2·maxLeverage), deductions
    recursed) as the `LeverageTiers` the account stage prices MM and LPs with."""
    out = []
    for i, a in enumerate(meta.universe):
        if a.name not in coins:
            continue
        b = hl_asset_brackets(meta, i)
        rows = tuple(
            Bracket(floor=float(f), cap=float(c), mmr=float(m), cum=float(k), max_leverage=float(lev))
            for f, c, m, k, lev in zip(b.floors, b.caps, b.mmrs, b.cums, b.max_leverage, strict=True)
        )
        out.append(
            LeverageTiers(
                venue=venue,
                ts_event_ns=now_ns,
                ts_recv_ns=now_ns,
                account=account,
                symbol=a.name,
                brackets=rows,
            )
        )
    return out


def account_parts(state: HlClearinghouseState) -> tuple[tuple[Position, ...], tuple[Balance, ...]]:
    """`clearinghouseState` → positions and the USDC balance, in the terms of the Binance-shaped records.

    isolated wallet = marginUsed − unrealizedPnl (= rawUsd + szi·entry: the margin without upnl);
    cross wallet = crossMarginSummary.accountValue − Σ cross upnl; wallet = marginSummary.accountValue −
    Σ upnl. With these, "wallet + upnl ≥ tiered MM" is Hyperliquid's own test (venues-next §d).
    `liquidationPx: null` becomes NaN (the venue shows none).
    """
    positions = []
    cross_upnl = all_upnl = 0.0
    for ap in state.asset_positions:
        p = ap.position
        iso = p.leverage.kind == "isolated"
        all_upnl += p.unrealized_pnl
        if not iso:
            cross_upnl += p.unrealized_pnl
        positions.append(
            Position(
                symbol=p.coin,
                side="BOTH",
                qty=p.szi,
                entry_price=p.entry_px,
                margin_mode="isolated" if iso else "cross",
                isolated_wallet=p.margin_used - p.unrealized_pnl if iso else 0.0,
                leverage=float(p.leverage.value),
                venue_mark_price=p.mark,
                venue_liquidation_price=math.nan if p.liquidation_px is None else p.liquidation_px,
                venue_unrealized_pnl=p.unrealized_pnl,
            )
        )
    balance = Balance(
        asset="USDC",
        wallet_balance=state.margin_summary.account_value - all_upnl,
        cross_wallet_balance=state.cross_margin_summary.account_value - cross_upnl,
        unrealized_pnl=all_upnl,
        available_balance=state.withdrawable,
    )
    return tuple(positions), (balance,)


def parse_account(body: Any) -> tuple[tuple[Position, ...], tuple[Balance, ...]]:
    return account_parts(parse_clearinghouse_state(body))
