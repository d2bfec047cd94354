"""The venues' limits as the simulator keeps them: weights from the docs' tables, 429 then 418 only
for a client that comes back inside its Retry-After, bans that grow, and Bybit's per-UID headers."""

from __future__ import annotations

import pytest

from monitor.sim.limits import (
    BybitApiLimit,
    BybitIpLimit,
    MessageRate,
    WeightLimit,
    WindowCount,
    binance_weight,
)

S = 1_000_000_000
MINUTE = 60 * S
T0 = 29_000_000 * MINUTE  # a minute boundary


@pytest.mark.parametrize(
    ("host", "path", "query", "weight"),
    [
        ("futures", "/fapi/v1/exchangeInfo", {}, 1),
        ("futures", "/fapi/v1/depth", {"symbol": "BTCUSDT", "limit": "20"}, 2),
        ("futures", "/fapi/v1/depth", {"symbol": "BTCUSDT", "limit": "100"}, 5),
        ("futures", "/fapi/v1/depth", {"symbol": "BTCUSDT"}, 10),  # default limit 500
        ("futures", "/fapi/v1/depth", {"symbol": "BTCUSDT", "limit": "1000"}, 20),
        ("futures", "/fapi/v1/klines", {"limit": "99"}, 1),
        ("futures", "/fapi/v1/klines", {"limit": "100"}, 2),
        ("futures", "/fapi/v1/markPriceKlines", {}, 5),  # default 500
        ("futures", "/fapi/v1/klines", {"limit": "1500"}, 10),
        ("futures", "/fapi/v1/premiumIndex", {"symbol": "BTCUSDT"}, 1),
        ("futures", "/fapi/v1/premiumIndex", {}, 10),
        ("futures", "/fapi/v1/ticker/24hr", {}, 40),
        ("futures", "/fapi/v3/positionRisk", {"timestamp": "1"}, 5),
        ("futures", "/fapi/v2/account", {}, 5),
        ("futures", "/fapi/v1/listenKey", {}, 1),
        ("futures", "/fapi/v1/fundingRate", {"symbol": "BTCUSDT"}, 0),  # its own bucket, not weight
        ("futures", "/fapi/v1/fundingInfo", {}, 0),
        ("futures", "/fapi/v1/leverageBracket", {}, 1),
        ("spot", "/api/v3/exchangeInfo", {}, 20),
        ("spot", "/api/v3/depth", {"limit": "5000"}, 250),
        ("spot", "/api/v3/ticker/bookTicker", {"symbol": "BTCUSDT"}, 2),
        ("spot", "/api/v3/ticker/bookTicker", {}, 4),
    ],
)
def test_weights_follow_the_venue_tables(host: str, path: str, query: dict[str, str], weight: int) -> None:
    assert binance_weight(host, path, query) == weight  # type: ignore[arg-type]


def test_a_client_that_waits_out_the_retry_after_is_never_banned() -> None:
    lim = WeightLimit("futures", per_min=30, ban_s=120.0, connects_per_5min=300)
    now = T0 + 45 * S
    assert lim.admit("a", 20, now) == (None, 20)
    refused, used = lim.admit("a", 20, now)  # 40 > 30: refused, not counted
    assert refused is not None and (refused.status, refused.code, used) == (429, -1003, 20)
    assert refused.headers["Retry-After"] == "15"  # the rest of the minute
    assert "30 request weight per 1 MINUTE" in refused.msg
    assert lim.admit("b", 20, now)[0] is None  # another IP has its own budget
    assert lim.admit("a", 20, T0 + MINUTE) == (None, 20)  # the next minute: served
    assert lim.bans() == 0


def test_coming_back_inside_the_retry_after_earns_a_ban_that_doubles() -> None:
    lim = WeightLimit("futures", per_min=10, ban_s=120.0, connects_per_5min=300)
    now = T0 + 50 * S
    lim.admit("a", 10, now)
    assert lim.admit("a", 1, now)[0].status == 429  # type: ignore[union-attr]
    banned = lim.admit("a", 1, now + S)[0]
    assert banned is not None and (banned.status, banned.headers["Retry-After"]) == (418, "120")
    still = lim.admit("a", 1, now + 61 * S)[0]  # the ban outlives the minute
    assert still is not None and (still.status, still.headers["Retry-After"]) == (418, "60")
    assert lim.handshake("a", now + 61 * S).status == 418  # type: ignore[union-attr]
    after = now + 121 * S
    assert lim.admit("a", 1, after)[0] is None
    lim.admit("a", 100, after)  # over again: 429 …
    second = lim.admit("a", 1, after)[0]  # … and straight back
    assert second is not None and (second.status, second.headers["Retry-After"]) == (418, "240")
    assert lim.bans("a") == 2


def test_a_call_already_on_its_way_when_the_429_went_out_is_not_banned() -> None:
    wall = [0]
    lim = WeightLimit("futures", 10, 120.0, 300, inflight_grace_s=0.25, wall_ns=lambda: wall[0])
    lim.admit("a", 10, T0)
    assert lim.admit("a", 1, T0)[0].status == 429  # type: ignore[union-attr]
    wall[0] = 200_000_000  # 0.2 s later: sent before the 429 could have arrived
    assert lim.admit("a", 1, T0)[0].status == 429  # type: ignore[union-attr]
    wall[0] = 300_000_000  # 0.3 s: it had the 429 and came back anyway
    assert lim.admit("a", 1, T0)[0].status == 418  # type: ignore[union-attr]


def test_connection_attempts_are_limited_per_five_minutes_and_a_retry_inside_is_banned() -> None:
    lim = WeightLimit("futures", per_min=2400, ban_s=120.0, connects_per_5min=3)
    assert [lim.handshake("a", T0 + k * S) for k in range(3)] == [None, None, None]
    refused = lim.handshake("a", T0 + 10 * S)
    assert refused is not None and (refused.status, refused.headers["Retry-After"]) == (429, "290")
    assert lim.handshake("a", T0 + 300 * S) is None  # the first attempt has left the window
    lim.handshake("a", T0 + 301 * S)  # the budget is spent again (attempts at 2, 300 and 301 s …)
    assert lim.handshake("b", T0 + 301 * S) is None  # … for this IP only
    assert lim.handshake("a", T0 + 301 * S).status == 429  # type: ignore[union-attr]
    assert lim.admit("a", 1, T0 + 301 * S + S // 2)[0].status == 418  # type: ignore[union-attr]


def test_message_rate_counts_the_last_second() -> None:
    rate = MessageRate(5)
    assert all(rate.admit(T0 + k * 100_000_000) for k in range(5))
    assert not rate.admit(T0 + 500_000_000)  # a sixth within the second
    assert rate.admit(T0 + 1_200_000_000)  # the window has moved past the early ones


def test_bybit_signed_endpoints_report_their_limit_and_refuse_past_it() -> None:
    lim = BybitApiLimit(override_per_s=3)
    assert lim.admit("alice", "/v5/market/tickers", T0) is None  # public: no per-UID limit
    seen = [lim.admit("alice", "/v5/position/list", T0 + k * 100_000_000) for k in range(4)]
    assert [(ok, h["X-Bapi-Limit-Status"]) for ok, h in seen if h] == [  # type: ignore[misc]
        (True, "2"),
        (True, "1"),
        (True, "0"),
        (False, "0"),
    ]
    refused = seen[3]
    assert refused is not None and refused[1]["X-Bapi-Limit"] == "3"
    assert refused[1]["X-Bapi-Limit-Reset-Timestamp"] == str((T0 + S) // 1_000_000)  # the first leaves
    assert lim.admit("bob", "/v5/position/list", T0)[0]  # type: ignore[index]
    assert BybitApiLimit().limit_of("/v5/position/list") == 50


def test_bybit_ip_limit_bans_for_its_period() -> None:
    lim = BybitIpLimit(per_5s=3, ban_s=600.0)
    assert [lim.admit("a", T0 + k) for k in range(4)] == [True, True, True, False]
    assert not lim.admit("a", T0 + 10 * S)  # banned, though the window has moved on
    assert lim.admit("a", T0 + 601 * S) and lim.bans == 1


def test_funding_history_and_info_share_their_own_five_minute_bucket() -> None:
    """fundingRate and fundingInfo cost no weight but share 500 calls per 5 min per IP; the 501st is a
    429 whose Retry-After frees the oldest slot, and coming back inside it is banned like any 429."""
    lim = WeightLimit("futures", per_min=2400, ban_s=120.0, connects_per_5min=300, funding_per_5min=500)
    paths = ("/fapi/v1/fundingRate", "/fapi/v1/fundingInfo")
    assert all(lim.admit("a", 0, T0 + k * 10_000_000, paths[k % 2])[0] is None for k in range(500))
    refused, used = lim.admit("a", 0, T0 + 10 * S, "/fapi/v1/fundingInfo")
    assert refused is not None and (refused.status, refused.code, used) == (429, -1003, 0)
    assert refused.headers["Retry-After"] == "290"  # the first call (at T0) leaves the window at 300 s
    assert lim.admit("b", 0, T0 + 10 * S, "/fapi/v1/fundingRate")[0] is None  # per IP
    assert lim.admit("a", 1, T0 + 10 * S + S // 2, "/fapi/v1/premiumIndex")[0].status == 418  # type: ignore[union-attr]
    spot = WeightLimit("spot", per_min=6000, ban_s=120.0, connects_per_5min=300, funding_per_5min=1)
    assert [spot.admit("a", 1, T0, "/fapi/v1/fundingRate")[0] for _ in range(2)] == [None, None]


def test_a_client_that_waits_for_the_funding_slot_is_served() -> None:
    lim = WeightLimit("futures", per_min=2400, ban_s=120.0, connects_per_5min=300, funding_per_5min=2)
    assert lim.admit("a", 0, T0, "/fapi/v1/fundingRate")[0] is None
    assert lim.admit("a", 0, T0 + 100 * S, "/fapi/v1/fundingRate")[0] is None
    refused = lim.admit("a", 0, T0 + 200 * S, "/fapi/v1/fundingRate")[0]
    assert refused is not None and refused.headers["Retry-After"] == "100"
    assert lim.admit("a", 0, T0 + 300 * S + 1, "/fapi/v1/fundingRate")[0] is None  # waited: no ban
    assert lim.bans() == 0


def test_window_count_refuses_past_its_limit_until_the_oldest_leaves() -> None:
    """Bybit's 500 WebSocket connection attempts per 5 minutes per IP."""
    count = WindowCount(3, 300.0)
    assert [count.admit("a", T0 + k * S)[0] for k in range(4)] == [True, True, True, False]
    assert count.admit("a", T0 + 10 * S) == (False, 290 * S)
    assert count.admit("b", T0 + 10 * S)[0] and count.refused == 2
    assert count.admit("a", T0 + 300 * S)[0]
