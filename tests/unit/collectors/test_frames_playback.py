"""Recorded Binance frames (`tests/testdata/frames/binanceusdm/`) replayed through the parsers.

`market.jsonl` and `user.jsonl` were captured from the simulator's sockets; `user_docs.jsonl` holds
the venue documentation's samples; `bad.jsonl` pairs each malformed frame with the drop reason.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from monitor.collectors.account_book import AccountUpdate
from monitor.collectors.binance.events import ListenKeyExpired, parse_user_event
from monitor.collectors.binance.wire import parse_combined_frame
from monitor.errors import ParseError
from monitor.records import Fill, MarginCall, MarkPrice, Quote

FRAMES = Path(__file__).parents[2] / "testdata" / "frames" / "binanceusdm"
NOW = 1_800_000_000_000_000_000


def lines(name: str) -> list[str]:
    return [x for x in (FRAMES / name).read_text().splitlines() if x.strip()]


def test_recorded_market_frames_become_marks_and_both_books() -> None:
    """Every recorded market frame parses; marks and books keep the venue's times and update ids."""
    out = [r for raw in lines("market.jsonl") for r in parse_combined_frame(raw, NOW, "binance", "perp")]
    kinds = [type(r).__name__ for r in out]
    assert kinds == ["MarkPrice"] * 4 + ["Quote"] * 4
    marks = [r for r in out if isinstance(r, MarkPrice)]
    assert {m.symbol for m in marks} == {"BTCUSDT", "ETHUSDT"}
    assert all(m.ts_event_ns < NOW and m.mark > 0 and math.isfinite(m.funding_rate) for m in marks)
    books = [r for r in out if isinstance(r, Quote)]
    assert all(b.update_id > 0 and b.bid < b.ask for b in books)


def test_recorded_user_stream_of_a_liquidation() -> None:
    """Funding fee, margin call, the autoclose fill, the closing update, then the key's expiry."""
    events = [parse_user_event(raw, "binance", "bob", NOW) for raw in lines("user.jsonl")]
    assert [type(e).__name__ for e in events] == [
        "AccountUpdate",
        "MarginCall",
        "Fill",
        "AccountUpdate",
        "ListenKeyExpired",
    ]
    fee, call, fill, close, _ = events
    assert isinstance(fee, AccountUpdate) and fee.reason == "FUNDING_FEE"
    assert isinstance(call, MarginCall) and call.positions[0].margin_mode == "isolated"
    assert isinstance(fill, Fill) and (fill.kind, fill.side, fill.qty) == ("liquidation", "LONG", 0.5)
    assert isinstance(close, AccountUpdate) and [leg.qty for leg in close.legs] == [0.0]
    assert isinstance(events[-1], ListenKeyExpired)


def test_documentation_samples() -> None:
    """The docs' ACCOUNT_UPDATE and MARGIN_CALL parse; an event perpmon does not use yields nothing."""
    upd, call, config = (parse_user_event(raw, "binance", "a", NOW) for raw in lines("user_docs.jsonl"))
    assert isinstance(upd, AccountUpdate)
    (leg,) = upd.legs
    assert (leg.qty, leg.entry, leg.margin_mode, leg.isolated_wallet) == (
        -0.089,
        19700.03933,
        "isolated",
        87.1365894,
    )
    assert [(b.asset, b.wallet, b.cross_wallet) for b in upd.balances] == [
        ("USDT", 1127.95750089, 1040.82091149)
    ]
    assert isinstance(call, MarginCall) and call.cross_wallet == 3.16812045
    assert call.positions[0].maint_margin == 1.614445
    assert config is None


@pytest.mark.parametrize("row", [json.loads(x) for x in lines("bad.jsonl")], ids=lambda r: r["reason"])
def test_bad_frames_are_refused_with_their_reason(row: dict[str, str]) -> None:
    """Each recorded bad frame raises ParseError with the reason the drop counter will carry."""
    with pytest.raises(ParseError) as err:
        if row["parser"] == "market":
            list(parse_combined_frame(row["frame"], NOW, "binance", "perp"))
        else:
            parse_user_event(row["frame"], "binance", "a", NOW)
    assert err.value.reason == row["reason"]
