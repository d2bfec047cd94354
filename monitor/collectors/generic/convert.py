"""ccxt's unified structures → perpmon records, for the generic collector (pure functions).

Symbols: the config names a perpetual as base+quote (`BTCUSDT`), whatever the venue's id; the
unified symbol is found among the loaded markets (a linear swap with that base and quote, settled
in the quote), and records carry the config's name, so one symbol means one thing across venues.

Where a unified field is ambiguous, the venue's raw payload decides: ccxt's `total` balance is the
margin balance (wallet + unrealised PnL) on Binance and the equity on OKX, while perpmon needs the
wallet itself, so `wallet_balances` reads the raw wallet fields of the venues it knows and falls
back to `total` elsewhere (documented in the README).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from monitor.collectors.tier_reply import ladder
from monitor.errors import ParseError
from monitor.records import (
    AccountSnapshot,
    Balance,
    Bracket,
    FundingInfo,
    Instrument,
    LeverageTiers,
    MarginMode,
    Market,
    MarkPrice,
    Position,
    Quote,
)
from monitor.venues import ccxt_quirks

__all__ = [
    "account_snapshot",
    "canonical",
    "funding_info",
    "instruments",
    "leverage_tiers",
    "mark_records",
    "number",
    "perp_symbols",
    "positions",
    "quote_records",
    "spot_symbols",
    "wallet_balances",
]

NS_PER_MS = 1_000_000


def number(x: Any, default: float = math.nan) -> float:
    """A finite float from a ccxt field (which may be None or a string), else `default`."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return default
    return v if math.isfinite(v) else default


def canonical(market: Mapping[str, Any]) -> str:
    return f"{market['base']}{market['quote']}".upper()


def perp_symbols(markets: Mapping[str, Mapping[str, Any]], wanted: Iterable[str]) -> dict[str, str]:
    """config symbol → unified symbol of its linear perpetual; unknown symbols are an error."""
    found = {
        canonical(m): sym
        for sym, m in markets.items()
        if m.get("swap") and m.get("linear") and m.get("settle") == m.get("quote") and m.get("active", True)
    }
    missing = [s for s in wanted if s not in found]
    if missing:
        raise ParseError("unknown_symbol", f"no linear perpetual for {missing}")
    return {s: found[s] for s in wanted}


def spot_symbols(markets: Mapping[str, Mapping[str, Any]], wanted: Iterable[str]) -> dict[str, str]:
    found = {canonical(m): sym for sym, m in markets.items() if m.get("spot")}
    missing = [s for s in wanted if s not in found]
    if missing:
        raise ParseError("unknown_symbol", f"no spot market for {missing}")
    return {s: found[s] for s in wanted}


def _watched(
    tickers: Mapping[str, Mapping[str, Any]], names: Mapping[str, str]
) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(ccxt symbol, perpmon name, ticker) of the tickers perpmon watches; the rest are skipped."""
    for unified, t in tickers.items():
        name = names.get(unified)
        if name is not None:
            yield unified, name, t


def mark_records(
    tickers: Mapping[str, Mapping[str, Any]],
    ts_recv_ns: int,
    *,
    names: Mapping[str, str],
    venue: str,
    funding: Mapping[str, tuple[float, int]],
) -> list[MarkPrice]:
    """`watch_mark_price(s)` tickers → MarkPrice; funding from the frame (`info.r`) or REST."""
    out = []
    for _unified, name, t in _watched(tickers, names):
        mark, index = number(t.get("markPrice")), number(t.get("indexPrice"))
        if not (mark > 0):
            raise ParseError("out_of_range", f"markPrice={t.get('markPrice')!r}")
        info = t.get("info") or {}
        rate, next_ns = funding.get(name, (math.nan, 0))
        if "r" in info:
            rate, next_ns = number(info["r"]), int(number(info.get("T"), 0)) * NS_PER_MS
        ts = t.get("timestamp")
        out.append(
            MarkPrice(
                venue=venue,
                symbol=name,
                ts_event_ns=int(ts) * NS_PER_MS if ts else ts_recv_ns,
                ts_recv_ns=ts_recv_ns,
                mark=mark,
                index=index if index > 0 else math.nan,
                funding_rate=rate,
                next_funding_ns=next_ns,
            )
        )
    return out


def quote_records(
    tickers: Mapping[str, Mapping[str, Any]],
    ts_recv_ns: int,
    *,
    names: Mapping[str, str],
    venue: str,
    market: str,
) -> list[Quote]:
    """`watch_bids_asks` tickers → Quote; a crossed or empty book is refused."""
    out = []
    for unified, name, t in _watched(tickers, names):
        bid, ask = number(t.get("bid")), number(t.get("ask"))
        if not (bid > 0 and ask > 0):
            raise ParseError("out_of_range", f"{unified} bid={t.get('bid')!r} ask={t.get('ask')!r}")
        if bid > ask:
            raise ParseError("crossed_book", f"{unified} bid {bid} > ask {ask}")
        ts = t.get("timestamp")
        info = t.get("info") or {}
        out.append(
            Quote(
                venue=venue,
                symbol=name,
                market="spot" if market == "spot" else "perp",
                ts_event_ns=int(ts) * NS_PER_MS if ts else ts_recv_ns,
                ts_recv_ns=ts_recv_ns,
                bid=bid,
                bid_size=number(t.get("bidVolume"), 0.0),
                ask=ask,
                ask_size=number(t.get("askVolume"), 0.0),
                update_id=int(number(info.get("u"), 0)),
            )
        )
    return out


def positions(
    rows: Iterable[Mapping[str, Any]], markets: Mapping[str, Mapping[str, Any]]
) -> tuple[Position, ...]:
    """`fetch_positions` → legs in base units (contracts × contract size), signed by side."""
    out = []
    for p in rows:
        contracts = number(p.get("contracts"), 0.0)
        if contracts == 0:
            continue
        market = markets.get(p.get("symbol", ""))
        if market is None:
            raise ParseError("unknown_symbol", str(p.get("symbol")))
        sign = -1.0 if p.get("side") == "short" else 1.0
        size = contracts * number(p.get("contractSize"), 1.0)
        mode: MarginMode = "isolated" if p.get("marginMode") == "isolated" else "cross"
        info = p.get("info") or {}
        wallet = number(info.get("isolatedWallet"), number(p.get("collateral"), 0.0))
        entry = number(p.get("entryPrice"))
        if not (entry > 0):
            raise ParseError("out_of_range", f"entryPrice={p.get('entryPrice')!r}")
        out.append(
            Position(
                symbol=canonical(market),
                side=("LONG" if sign > 0 else "SHORT") if p.get("hedged") else "BOTH",
                qty=sign * size,
                entry_price=entry,
                margin_mode=mode,
                isolated_wallet=wallet if mode == "isolated" else 0.0,
                leverage=number(p.get("leverage")),
                venue_mark_price=number(p.get("markPrice")),
                venue_liquidation_price=number(p.get("liquidationPrice")) or math.nan,
                venue_maint_margin=number(p.get("maintenanceMargin")),
                venue_unrealized_pnl=number(p.get("unrealizedPnl")),
            )
        )
    return tuple(out)


def wallet_balances(exchange_id: str, balance: Mapping[str, Any]) -> tuple[Balance, ...]:
    """The wallet per asset (not the equity): raw fields where the venue's entry reads them
    (`Venue.wallet`), unified `total` elsewhere."""
    quirks = ccxt_quirks(exchange_id)
    got = quirks.read_wallet(balance.get("info") or {}) if quirks is not None else None
    if got is not None:
        return got
    totals = balance.get("total") or {}
    return tuple(
        Balance(asset=str(a), wallet_balance=number(v, 0.0)) for a, v in totals.items() if number(v, 0.0) != 0
    )


def binance_wallets(info: Mapping[str, Any]) -> tuple[Balance, ...] | None:
    """`/fapi/v2/account` assets: wallet, cross wallet, unrealized PnL, available (None: not that reply)."""
    if not isinstance(info.get("assets"), list):
        return None
    return tuple(
        Balance(
            asset=str(a["asset"]),
            wallet_balance=number(a.get("walletBalance"), 0.0),
            cross_wallet_balance=number(a.get("crossWalletBalance")),
            unrealized_pnl=number(a.get("unrealizedProfit")),
            available_balance=number(a.get("availableBalance")),
        )
        for a in info["assets"]
        if number(a.get("walletBalance"), 0.0) != 0
    )


def okx_wallets(info: Mapping[str, Any]) -> tuple[Balance, ...] | None:
    """`/api/v5/account/balance` details: `cashBal` is the wallet, `eq` would be the equity."""
    if not (isinstance(info.get("data"), list) and info["data"]):
        return None
    details = info["data"][0].get("details") or []
    return tuple(
        Balance(
            asset=str(d["ccy"]),
            wallet_balance=number(d.get("cashBal"), 0.0),
            unrealized_pnl=number(d.get("upl")),
        )
        for d in details
        if number(d.get("cashBal"), 0.0) != 0
    )


def bybit_wallets(info: Mapping[str, Any]) -> tuple[Balance, ...] | None:
    """`/v5/account/wallet-balance` coins: `walletBalance` per coin across the listed accounts."""
    if not isinstance((info.get("result") or {}).get("list"), list):
        return None
    coins = [c for acct in info["result"]["list"] for c in acct.get("coin") or []]
    return tuple(
        Balance(asset=str(c["coin"]), wallet_balance=number(c.get("walletBalance"), 0.0))
        for c in coins
        if number(c.get("walletBalance"), 0.0) != 0
    )


def leverage_tiers(
    tiers: Mapping[str, list[Mapping[str, Any]]],
    names: Mapping[str, str],
    venue: str,
    account: str,
    ts_ns: int,
) -> list[LeverageTiers]:
    """`fetch_leverage_tiers` → brackets; `cum` from the venue where given, else from the recursion."""
    out = []
    for unified, rows in tiers.items():
        name = names.get(unified)
        if name is None or not rows:
            continue
        brackets: list[Bracket] = []
        cum = 0.0
        prev_mmr = 0.0
        for r in sorted(rows, key=lambda r: number(r.get("minNotional"), 0.0)):
            floor, mmr = number(r.get("minNotional"), 0.0), number(r.get("maintenanceMarginRate"))
            cum = cum + floor * (mmr - prev_mmr)
            given = (r.get("info") or {}).get("cum")
            brackets.append(
                Bracket(
                    floor=floor,
                    cap=number(r.get("maxNotional"), math.inf),
                    mmr=mmr,
                    cum=number(given, cum) if given is not None else cum,
                    max_leverage=number(r.get("maxLeverage")),
                )
            )
            prev_mmr = mmr
        out.append(ladder(tuple(brackets), venue=venue, account=account, symbol=name, ts_recv_ns=ts_ns))
    return out


def funding_info(
    exchange_id: str, venue: str, symbol: str, interval: str | None, ts_ns: int
) -> FundingInfo | None:
    """ccxt's `"8h"`-style interval → FundingInfo; None when the venue did not say (no guess)."""
    if interval is None:
        quirks = ccxt_quirks(exchange_id)
        unlisted = quirks.unlisted_interval_h if quirks is not None else None
        if unlisted is None:
            return None
        interval = f"{unlisted:g}h"
    unit = {"h": 3600.0, "m": 60.0, "s": 1.0}.get(interval[-1:])
    hours = number(interval[:-1])
    if unit is None or not hours > 0:
        raise ParseError("out_of_range", f"funding interval {interval!r}")
    return FundingInfo(
        venue=venue, symbol=symbol, ts_event_ns=ts_ns, ts_recv_ns=ts_ns, interval_s=hours * unit
    )


def account_snapshot(
    venue: str,
    account: str,
    rows: Iterable[Mapping[str, Any]],
    balance: Mapping[str, Any],
    markets: Mapping[str, Mapping[str, Any]],
    exchange_id: str,
    ts_ns: int,
) -> AccountSnapshot:
    """A complete account from `fetch_positions` + `fetch_balance` (both must have succeeded)."""
    return AccountSnapshot(
        venue=venue,
        account=account,
        ts_event_ns=ts_ns,
        ts_recv_ns=ts_ns,
        positions=positions(rows, markets),
        balances=wallet_balances(exchange_id, balance),
    )


_TICK_SIZE, _DECIMAL_PLACES = 4, 2  # ccxt's precisionMode constants (ccxt.TICK_SIZE, ccxt.DECIMAL_PLACES)


def instruments(
    markets: Mapping[str, Mapping[str, Any]],
    names: Mapping[str, str],
    *,
    venue: str,
    market: Market,
    precision_mode: int,
    ts_ns: int,
) -> list[Instrument]:
    """Each named market's price tick from ccxt's `precision.price` (`names`: config → unified).

    In TICK_SIZE mode (every venue perpmon knows, ccxt 4.5) the precision is the tick itself (0.1);
    in DECIMAL_PLACES mode it counts decimals (1 → 0.1); SIGNIFICANT_DIGITS has no fixed tick. A
    market without a usable precision gets no record (its prices fall back to significant digits).
    """
    out = []
    for name, unified in names.items():
        p = number(((markets.get(unified) or {}).get("precision") or {}).get("price"))
        if not p > 0:
            continue
        if precision_mode == _DECIMAL_PLACES and p == int(p):
            tick = 10.0 ** -int(p)
        elif precision_mode == _TICK_SIZE:
            tick = p
        else:
            continue
        out.append(
            Instrument(
                venue=venue, symbol=name, market=market, ts_event_ns=ts_ns, ts_recv_ns=ts_ns, tick=tick
            )
        )
    return out
