"""Stream payload shapes and cadences; number formatting that round-trips."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from monitor.clock import ManualClock
from monitor.sim.binance.streams import is_market_stream, render
from monitor.sim.market import Market
from monitor.sim.numfmt import f8, fnum, q8


def _market() -> Market:
    return Market(replay="crash-2021-05-19", speed=60, loop=True, seed=7, clock=ManualClock())


def test_futures_book_ticker_has_e_spot_has_not() -> None:
    """ccxt tells a spot bookTicker from a futures one by the missing `e`."""
    m = _market()
    (fut,) = render("btcusdt@bookTicker", "futures", m, 1)
    (spot,) = render("btcusdt@bookTicker", "spot", m, 1)
    assert fut["e"] == "bookTicker" and set(fut) >= {"u", "E", "T", "s", "b", "B", "a", "A"}
    assert "e" not in spot and set(spot) == {"u", "s", "b", "B", "a", "A"}


def test_mark_price_cadences_and_array_form() -> None:
    m = _market()
    assert [bool(render("btcusdt@markPrice@1s", "futures", m, t)) for t in (1, 2, 3)] == [True, True, True]
    assert [bool(render("btcusdt@markPrice", "futures", m, t)) for t in (1, 2, 3)] == [False, False, True]
    (frame,) = render("!markPrice@arr@1s", "futures", m, 1)
    assert isinstance(frame, list) and {x["s"] for x in frame} == {"BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"}
    one = frame[0]
    assert one["e"] == "markPriceUpdate" and isinstance(one["E"], int) and isinstance(one["T"], int)
    assert float(one["p"]) == m.quotes[one["s"]].mark


def test_unknown_streams_render_nothing() -> None:
    m = _market()
    assert render("dogeusdt@bookTicker", "futures", m, 1) == []
    assert render("btcusdt@markPrice", "spot", m, 3) == []
    assert len(render("!bookTicker", "futures", m, 1)) == 4


@given(st.floats(-1e7, 1e7, allow_nan=False))
def test_published_strings_parse_back_to_the_quantized_float(x: float) -> None:
    assert float(f8(x)) == q8(x)
    assert float(fnum(x)) == q8(x)


def test_no_negative_zero() -> None:
    assert f8(-1e-12) == "0.00000000" and fnum(-0.0) == "0"


def test_stream_names_are_told_from_listen_keys_and_indices() -> None:
    assert [
        is_market_stream(n) for n in ("btcusdt@bookTicker", "!bookTicker", "!markPrice@arr", "0", "a" * 64)
    ] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_url_layouts_route_to_streams_and_wrapping() -> None:
    """Classic, combined, ccxt category and spot `/stream/ws/<n>` paths (venues.md §2.1, pitfalls 1–2)."""
    from monitor.sim.binance.ws import _route

    assert _route("/ws/btcusdt@markPrice", {}) == (False, ["btcusdt@markPrice"])
    assert _route("/stream", {"streams": "a@b/!bookTicker"}) == (True, ["a@b", "!bookTicker"])
    assert _route("/market/ws/0", {}) == (False, ["0"])
    assert _route("/public/stream", {"streams": "x@bookTicker"}) == (True, ["x@bookTicker"])
    assert _route("/private/ws", {"listenKey": "K"}) == (False, ["K"])
    assert _route("/private/ws/K", {}) == (False, ["K"])
    assert _route("/stream/ws/3", {}) == (False, ["3"])
