"""OKX v5 frames and replies → perpmon's records (venues-next §c), for the native collector.

Public socket (`/ws/v5/public`): `mark-price` carries the mark alone and `funding-rate` the forecast
for the UPCOMING settlement (`fundingTime`) with the caps; `OkxMarks` joins them per symbol into one
`MarkPrice` (the latest forecast rides on each mark), and each funding frame is also a
`FundingInfo` whose interval is `nextFundingTime − fundingTime` (OKX may set 8/6/4/2/1 h per
instrument). OKX's mark frames carry no index, so `MarkPrice.index` is NaN until an index source is
wired (a basis on the mark alone would be silently wrong). Acks (`{"event":"subscribe"}`), `login`
and the text `pong` are control, no records; `{"event":"error","code":…}` and any frame that is not
what its channel sends raise `ParseError` (counted and dropped by the feed, never a reconnect).

Private data (REST `/account/positions`, `/account/balance`, or the `positions`/`account` channels)
become `Position` and `Balance` (cross wallet: `cashBal` less the isolated margins in it): base
quantity = `pos·ctVal·ctMult` with the side's sign (`pos` is signed only in net mode), OKX's
`liqPx` kept as the venue's liquidation price (`""` → NaN: none)
and its `mmr` AMOUNT as the venue's maintenance margin. `account_mode` reads `acctLv` from
`/account/config`: only single-currency margin (2) is modelled; multi-currency (3) and portfolio
margin (4) are named as not modelled, so the account is flagged instead of computed wrong.

Symbols: `BTC-USDT-SWAP` ↔ `BTCUSDT` (`okx_symbol`, `okx_inst_id`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from monitor.collectors.fields import finite
from monitor.collectors.okx.margin_wire import OkxPosition, parse_okx_positions
from monitor.errors import ParseError
from monitor.records import Balance, FundingInfo, MarkPrice, Position, Record

__all__ = [
    "MODELLED_ACCT_LV",
    "OkxMarks",
    "account_mode",
    "okx_inst_id",
    "okx_symbol",
    "parse_balances",
    "parse_ct_vals",
    "parse_public_frame",
    "positions_from",
]

MODELLED_ACCT_LV = 2  # single-currency (Futures) margin mode
_MODES = {1: "spot mode", 2: "single-currency margin", 3: "multi-currency margin", 4: "portfolio margin"}
_NS_PER_MS = 1_000_000


def okx_symbol(inst_id: str) -> str:
    """`BTC-USDT-SWAP` → `BTCUSDT`; anything but a USDT swap raises `ParseError`."""
    base, _, rest = inst_id.partition("-")
    if rest != "USDT-SWAP" or not base.isalnum():
        raise ParseError("unknown_instrument", inst_id[:40])
    return f"{base}USDT"


def okx_inst_id(symbol: str) -> str:
    """`BTCUSDT` → `BTC-USDT-SWAP`."""
    if not symbol.endswith("USDT"):
        raise ValueError(f"{symbol} is not a USDT perpetual")
    return f"{symbol[:-4]}-USDT-SWAP"


@dataclass
class OkxMarks:
    """Per symbol, the latest funding forecast and its settlement time (ns), to ride on each mark."""

    funding: dict[str, tuple[float, int]] = field(default_factory=dict)


def _decode(raw: bytes | str | Mapping[str, Any]) -> Any:
    if isinstance(raw, Mapping):
        return raw
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise ParseError("malformed_json", str(raw)[:80]) from None


def _rows(frame: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    data = frame.get("data")
    if not isinstance(data, list) or not all(isinstance(r, Mapping) for r in data):
        raise ParseError("schema", "data is not a list of objects")
    return data


def parse_public_frame(raw: bytes | str, *, venue: str, marks: OkxMarks, recv_ns: int) -> list[Record]:
    """One public frame → records.

    ``{"arg":{"channel":"mark-price","instId":"BTC-USDT-SWAP"},"data":[{"instType":"SWAP",
    "instId":"BTC-USDT-SWAP","markPx":"42310.6","ts":"1630049139746"}]}``
    ``{"arg":{"channel":"funding-rate","instId":"BTC-USDT-SWAP"},"data":[{"fundingRate":"0.0001",
    "fundingTime":"1700726400000","nextFundingTime":"1700755200000","maxFundingRate":"0.00375",
    "minFundingRate":"-0.00375","instId":"BTC-USDT-SWAP","ts":"1700724675402",…}]}``
    """
    if raw in ("pong", b"pong"):
        return []
    frame = _decode(raw)
    if not isinstance(frame, Mapping):
        raise ParseError("schema", "frame is not an object")
    event = frame.get("event")
    if event == "error":
        raise ParseError("venue_error", f"code {frame.get('code')!r} {str(frame.get('msg'))[:80]!r}")
    if event is not None:
        return []  # subscribe / unsubscribe acks, notices
    arg = frame.get("arg")
    channel = arg.get("channel") if isinstance(arg, Mapping) else None
    out: list[Record] = []
    for row in _rows(frame):
        symbol = okx_symbol(str(row.get("instId", "")))
        ts_ns = int(finite(row.get("ts"), "ts", positive=True)) * _NS_PER_MS
        if channel == "mark-price":
            rate, next_ns = marks.funding.get(symbol, (math.nan, 0))
            mark = finite(row.get("markPx"), "markPx", positive=True)
            out.append(MarkPrice(venue=venue, ts_event_ns=ts_ns, ts_recv_ns=recv_ns, symbol=symbol, mark=mark,
                                 index=math.nan, funding_rate=rate, next_funding_ns=next_ns))  # fmt: skip
        elif channel == "funding-rate":
            rate = finite(row.get("fundingRate"), "fundingRate")
            at_ms = int(finite(row.get("fundingTime"), "fundingTime", positive=True))
            after_ms = int(finite(row.get("nextFundingTime"), "nextFundingTime", positive=True))
            if after_ms <= at_ms:
                raise ParseError("out_of_range", f"nextFundingTime {after_ms} ≤ fundingTime {at_ms}")
            marks.funding[symbol] = (rate, at_ms * _NS_PER_MS)
            out.append(FundingInfo(venue=venue, ts_event_ns=ts_ns, ts_recv_ns=recv_ns, symbol=symbol,
                                   interval_s=(after_ms - at_ms) / 1000,
                                   cap=finite(row.get("maxFundingRate"), "maxFundingRate"),
                                   floor=finite(row.get("minFundingRate"), "minFundingRate")))  # fmt: skip
        else:
            raise ParseError("unknown_channel", str(channel)[:40])
    return out


def parse_ct_vals(body: bytes | str | Mapping[str, Any]) -> dict[str, float]:
    """`GET /api/v5/public/instruments?instType=SWAP` → base units per contract (`ctVal·ctMult`) of
    each linear USDT swap; other rows are skipped (inverse, other settle currencies)."""
    frame = _decode(body)
    if not isinstance(frame, Mapping) or frame.get("code") != "0":
        raise ParseError("venue_error", "instruments")
    out: dict[str, float] = {}
    for row in _rows(frame):
        if row.get("ctType") != "linear" or row.get("settleCcy") != "USDT":
            continue
        mult = row.get("ctMult") or "1"
        out[okx_symbol(str(row.get("instId")))] = finite(row.get("ctVal"), "ctVal", positive=True) * finite(
            mult, "ctMult", positive=True
        )
    return out


def _position(p: OkxPosition, ct_vals: Mapping[str, float]) -> Position:
    symbol = okx_symbol(p.inst_id)
    if symbol not in ct_vals:
        raise ParseError("unknown_instrument", f"{p.inst_id}: no ctVal")
    side = {"net": "BOTH", "long": "LONG", "short": "SHORT"}[p.pos_side]
    nan = math.nan
    return Position(
        symbol=symbol,
        side=side,  # type: ignore[arg-type]
        qty=p.signed_contracts * ct_vals[symbol],
        entry_price=p.avg_px,
        margin_mode=p.mgn_mode,
        isolated_wallet=p.margin or 0.0,
        leverage=p.lever if p.lever is not None else nan,
        venue_mark_price=p.mark_px if p.mark_px is not None else nan,
        venue_liquidation_price=p.liq_px if p.liq_px is not None and p.liq_px > 0 else nan,
        venue_maint_margin=p.mm_amount if p.mm_amount is not None else nan,
        venue_unrealized_pnl=p.upl if p.upl is not None else nan,
    )


def positions_from(
    body: bytes | str | Mapping[str, Any], ct_vals: Mapping[str, float]
) -> tuple[Position, ...]:
    """Positions reply (or `positions` push: same rows) → the USDT swaps' `Position`s; size 0 dropped."""
    rows = parse_okx_positions(body)
    return tuple(_position(p, ct_vals) for p in rows if p.inst_type == "SWAP" and p.pos != 0)


def parse_balances(body: bytes | str | Mapping[str, Any]) -> tuple[Balance, ...]:
    """`/account/balance` (or an `account` push) → one `Balance` per currency detail: `cashBal` is the
    wallet (isolated margins inside it), `upl` the unrealized PnL, `availEq` what is available.

    ``{"code":"0","data":[{"totalEq":"…","details":[{"ccy":"USDT","cashBal":"60000","upl":"-12.5",
    "availEq":"59000",…}]}]}``
    """
    frame = _decode(body)
    if not isinstance(frame, Mapping) or frame.get("code", "0") != "0":
        raise ParseError("venue_error", "balance")
    out: list[Balance] = []
    for acct in _rows(frame):
        details = acct.get("details")
        if not isinstance(details, list):
            raise ParseError("schema", "balance: details is not a list")
        for d in details:
            avail = d.get("availEq") or d.get("availBal")
            cash = finite(d.get("cashBal"), "cashBal")
            upl = finite(d.get("upl") or 0, "upl")
            free = finite(avail, "availEq") if avail else math.nan
            # isolated margin sits inside cashBal (isoEq = margin + isolated upl); the cross wallet: the rest
            iso = finite(d.get("isoEq") or 0, "isoEq") - finite(d.get("isoUpl") or 0, "isoUpl")
            out.append(
                Balance(
                    asset=str(d.get("ccy")),
                    wallet_balance=cash,
                    cross_wallet_balance=cash - iso,
                    unrealized_pnl=upl,
                    available_balance=free,
                )
            )
    return tuple(out)


def account_mode(body: bytes | str | Mapping[str, Any]) -> tuple[int, str]:
    """`/account/config` → (`acctLv`, "" when perpmon models it, else the reason it does not).

    ``{"code":"0","data":[{"acctLv":"2","posMode":"net_mode","perm":"read_only",…}]}``
    """
    frame = _decode(body)
    if not isinstance(frame, Mapping) or frame.get("code") != "0":
        raise ParseError("venue_error", "account config")
    rows = _rows(frame)
    if not rows:
        raise ParseError("schema", "account config: no row")
    level = int(finite(rows[0].get("acctLv"), "acctLv", positive=True))
    if level == MODELLED_ACCT_LV:
        return level, ""
    name = _MODES.get(level, f"acctLv {level}")
    return (
        level,
        f"okx_account_mode_not_modelled: {name} (acctLv {level}); perpmon models single-currency margin",
    )
