"""COIN-M replies → perpmon's records: positions in contracts, balances per coin, brackets in coin.

The wire structs are `collectors/binance/coinm_wire.py`'s (each with its raw sample); this module
only maps them onto the records every venue shares. A COIN-M `Position` has `qty` in **contracts**
(signed), `contract_size` in USD per contract (from exchangeInfo, 100 for BTCUSD_PERP), `inverse`
set and `margin_asset` the coin (`marginAsset`); its venue figures (`unRealizedProfit`,
`liquidationPrice`) stay as the venue sends them, UPnL in coin. The brackets' `floor`/`cap` and `cum`
are in coin. Mark frames and premiumIndex rows have USDⓈ-M's field names, so
`binance.wire.parse_combined_frame` and `parse_premium_index` read them unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from monitor.collectors.binance.coinm_wire import (
    parse_coinm_account,
    parse_coinm_leverage_brackets,
    parse_coinm_position_risk,
)
from monitor.collectors.tier_reply import TierReply, ladder
from monitor.errors import ParseError
from monitor.records import Balance, Bracket, Position

__all__ = ["coinm_balances", "coinm_contract_specs", "coinm_positions", "coinm_tiers"]


def coinm_contract_specs(body: Any) -> dict[str, tuple[float, str]]:
    """`/dapi/v1/exchangeInfo` → symbol: (contractSize USD, marginAsset); rows without them skipped.

    ``{"symbols":[{"symbol":"BTCUSD_PERP","pair":"BTCUSD","contractType":"PERPETUAL",
    "contractSize":100,"marginAsset":"BTC","contractStatus":"TRADING",…}]}``
    """
    rows = body.get("symbols") if isinstance(body, dict) else None
    if not isinstance(rows, list):
        raise ParseError("schema", "exchangeInfo: no symbols list")
    out: dict[str, tuple[float, str]] = {}
    for r in rows:
        if not isinstance(r, dict):
            continue
        try:
            size = float(r["contractSize"])
        except (KeyError, TypeError, ValueError):
            continue
        if size > 0 and math.isfinite(size) and isinstance(r.get("marginAsset"), str):
            out[str(r["symbol"])] = (size, r["marginAsset"])
    return out


def coinm_positions(body: Any, specs: Mapping[str, tuple[float, str]]) -> tuple[Position, ...]:
    """`/dapi/v1/positionRisk` → the open legs (flat rows dropped); an unknown contract: `ParseError`."""
    out = []
    for r in parse_coinm_position_risk(body):
        if r.contracts == 0:
            continue
        if r.symbol not in specs:
            raise ParseError("unknown_symbol", f"positionRisk {r.symbol}: no contractSize known")
        if not (r.entry_price > 0):
            raise ParseError("out_of_range", f"positionRisk {r.symbol}: entryPrice={r.entry_price}")
        size, coin = specs[r.symbol]
        lp = r.liquidation_price
        out.append(
            Position(
                symbol=r.symbol,
                side=r.position_side,
                qty=r.contracts,
                entry_price=r.entry_price,
                margin_mode=r.margin_type,
                isolated_wallet=r.isolated_wallet if r.margin_type == "isolated" else 0.0,
                leverage=r.leverage,
                contract_size=size,
                inverse=True,
                margin_asset=coin,
                venue_mark_price=r.mark_price if r.mark_price > 0 else math.nan,
                venue_liquidation_price=lp if lp is not None else math.nan,
                venue_unrealized_pnl=r.upnl_coin,
            )
        )
    return tuple(out)


def coinm_balances(body: Any) -> tuple[Balance, ...]:
    """`/dapi/v1/account` assets → one `Balance` per coin held (all figures in that coin)."""
    return tuple(
        Balance(
            asset=a.asset,
            wallet_balance=a.wallet_balance,
            cross_wallet_balance=a.cross_wallet_balance,
            unrealized_pnl=a.unrealized_profit,
            available_balance=a.available_balance,
        )
        for a in parse_coinm_account(body).assets
        if a.wallet_balance != 0
    )


def coinm_tiers(body: Any, account: str, venue: str, ts_recv_ns: int) -> TierReply:
    """`/dapi/v2/leverageBracket` → `LeverageTiers` per symbol, floors/caps/cum in coin; a bad row
    is rejected alone (a bad reply as a whole raises)."""
    out = TierReply()
    for entry in parse_coinm_leverage_brackets(body):
        bs = tuple(
            Bracket(
                floor=b.qty_floor,
                cap=b.qty_cap,
                mmr=b.maint_margin_ratio,
                cum=b.cum if b.cum is not None else math.nan,
                max_leverage=b.initial_leverage,
            )
            for b in sorted(entry.brackets, key=lambda b: b.qty_floor)
        )
        try:
            if any(math.isnan(b.cum) for b in bs):
                raise ParseError("schema", f"leverageBracket {entry.symbol}: no cum (the v1 reply?)")
            out.tiers.append(
                ladder(bs, venue=venue, account=account, symbol=entry.symbol, ts_recv_ns=ts_recv_ns)
            )
        except ParseError as exc:
            out.rejected.append((entry.symbol, exc))
    return out
