"""The simulator's REST surface on the wire: shapes, real-fixture keys and types, errors, listenKeys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest

from monitor.sim.server import Simulator
from monitor.sim.testing import TEST_KEYS, fast_config, running_simulator, signed_query

pytestmark = pytest.mark.integration
FIXTURE = Path(__file__).parents[1] / "testdata" / "sim" / "binance.EXCERPT-usdm-relevant.json"


def _fixture(method: str, index: int) -> Any:
    return json.loads(FIXTURE.read_text())["methods"][method][index]["httpResponse"]


def _types(obj: dict[str, Any]) -> dict[str, type]:
    return {k: type(v) for k, v in obj.items()}


async def _get(
    sim: Simulator,
    path: str,
    account: str | None = None,
    params: dict[str, Any] | None = None,
    spot: bool = False,
    signed: bool = True,
    method: str = "GET",
) -> tuple[int, Any, Any]:
    base = sim.spot_rest_url if spot else sim.futures_rest_url
    headers: dict[str, str] = {}
    query = ""
    if account is not None:
        key, secret = TEST_KEYS[account]
        headers["X-MBX-APIKEY"] = key.reveal()
        if signed:
            query = signed_query(secret, params or {}, sim.market.quotes["BTCUSDT"].time_ms)
    elif params:
        query = "&".join(f"{k}={v}" for k, v in params.items())
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{base}{path}?{query}", headers=headers) as r,
    ):
        return r.status, await r.json(content_type=None), r.headers


async def test_public_futures_shapes() -> None:
    """premiumIndex: object with a symbol, array without; fundingInfo: adjusted symbols only."""
    async with running_simulator() as sim:
        status, one, headers = await _get(sim, "/fapi/v1/premiumIndex", params={"symbol": "BTCUSDT"})
        assert status == 200 and isinstance(one, dict) and one["symbol"] == "BTCUSDT"
        assert _types(one) == {
            "symbol": str,
            "markPrice": str,
            "indexPrice": str,
            "estimatedSettlePrice": str,
            "lastFundingRate": str,
            "interestRate": str,
            "nextFundingTime": int,
            "time": int,
        }
        assert int(headers["X-MBX-USED-WEIGHT-1M"]) >= 1
        _, every, _ = await _get(sim, "/fapi/v1/premiumIndex")
        assert isinstance(every, list) and {x["symbol"] for x in every} == {
            "BTCUSDT",
            "ETHUSDT",
            "SOLUSDT",
            "XRPUSDT",
        }
        _, info, _ = await _get(sim, "/fapi/v1/fundingInfo")
        assert info == [
            {
                "symbol": "SOLUSDT",
                "adjustedFundingRateCap": "0.02000000",
                "adjustedFundingRateFloor": "-0.02000000",
                "fundingIntervalHours": 4,
                "disclaimer": False,
            },
            {
                "symbol": "XRPUSDT",
                "adjustedFundingRateCap": "0.02000000",
                "adjustedFundingRateFloor": "-0.02000000",
                "fundingIntervalHours": 1,
                "disclaimer": False,
            },
        ]
        _, t, _ = await _get(sim, "/fapi/v1/time")
        assert abs(t["serverTime"] - sim.market.quotes["BTCUSDT"].time_ms) < 5_000
        _, ping, _ = await _get(sim, "/fapi/v1/ping")
        assert ping == {}


async def test_unknown_symbol_and_missing_parameters() -> None:
    async with running_simulator() as sim:
        assert (await _get(sim, "/fapi/v1/premiumIndex", params={"symbol": "NOPEUSDT"}))[:2] == (
            400,
            {"code": -1121, "msg": "Invalid symbol."},
        )
        status, body, _ = await _get(sim, "/fapi/v3/account", params={})
        assert (status, body["code"]) == (401, -2014)
        key = TEST_KEYS["alice"][0].reveal()
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"{sim.futures_rest_url}/fapi/v3/account?recvWindow=5000&signature=00",
                headers={"X-MBX-APIKEY": key},
            ) as r,
        ):
            assert (r.status, (await r.json())["code"]) == (400, -1102)


async def test_position_risk_v3_has_the_real_keys_and_types() -> None:
    """Same keys and JSON types as a real /fapi/v3/positionRisk row (ccxt fixture)."""
    async with running_simulator() as sim:
        _, rows, _ = await _get(sim, "/fapi/v3/positionRisk", "alice")
        real = _fixture("fetchPositions", 0)[0]
        assert len(rows) == 2
        for row in rows:
            assert _types(row) == _types(real)
        _, only, _ = await _get(sim, "/fapi/v3/positionRisk", "alice", {"symbol": "ETHUSDT"})
        assert [r["symbol"] for r in only] == ["ETHUSDT"] and only[0]["notional"].startswith("-")


async def test_account_v3_and_v2_have_the_real_keys_and_types() -> None:
    async with running_simulator() as sim:
        _, v3, _ = await _get(sim, "/fapi/v3/account", "alice")
        real3 = _fixture("fetchPositions", 2)
        assert _types({k: v for k, v in v3.items()}) == _types(real3)
        assert _types(v3["assets"][0]) == _types(real3["assets"][0])
        assert _types(v3["positions"][0]) == _types(real3["positions"][0])
        assert int(v3["assets"][0]["updateTime"]) > 0  # ccxt drops assets with updateTime 0
        _, v2, _ = await _get(sim, "/fapi/v2/account", "alice")
        real2 = _fixture("fetchBalance", 0)
        assert _types({k: v for k, v in v2.items() if k != "positions"}) == _types(
            {k: v for k, v in real2.items() if k != "positions"}
        )
        assert _types(v2["assets"][0]) == _types(real2["assets"][0])


async def test_position_risk_v2_lists_every_symbol_and_both_hedge_legs() -> None:
    async with running_simulator() as sim:
        _, rows, _ = await _get(sim, "/fapi/v2/positionRisk", "bob")
        assert sorted((r["symbol"], r["positionSide"]) for r in rows) == sorted(
            (s, side) for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT") for side in ("LONG", "SHORT")
        )
        short = next(r for r in rows if r["symbol"] == "BTCUSDT" and r["positionSide"] == "SHORT")
        assert short["positionAmt"] == "-0.2" and short["marginType"] == "isolated"
        assert short["isolatedWallet"] == "900.00000000"


async def test_leverage_bracket_numbers_are_numbers() -> None:
    async with running_simulator() as sim:
        _, every, _ = await _get(sim, "/fapi/v1/leverageBracket", "alice")
        assert isinstance(every, list) and len(every) == 4
        _, btc, _ = await _get(sim, "/fapi/v1/leverageBracket", "alice", {"symbol": "BTCUSDT"})
        first = btc["brackets"][3]
        assert first == {
            "bracket": 4,
            "initialLeverage": 20,
            "notionalCap": 10_000_000,
            "notionalFloor": 1_000_000,
            "maintMarginRatio": 0.025,
            "cum": 16300.0,
        }


async def test_balance_and_position_mode() -> None:
    async with running_simulator() as sim:
        sim.pause()
        for path in ("/fapi/v2/balance", "/fapi/v3/balance"):
            _, (usdt,), _ = await _get(sim, path, "alice")
            assert float(usdt["balance"]) == sim.engine.wallet_balance("alice") and usdt["updateTime"] > 0
        assert (await _get(sim, "/fapi/v1/positionSide/dual", "bob"))[1] == {"dualSidePosition": True}
        assert (await _get(sim, "/fapi/v1/positionSide/dual", "alice"))[1] == {"dualSidePosition": False}


async def test_listen_key_lifecycle() -> None:
    """POST is idempotent, PUT extends, DELETE ends it, then PUT answers -1125; API key only."""
    async with running_simulator() as sim:
        _, a, _ = await _get(sim, "/fapi/v1/listenKey", "alice", signed=False, method="POST")
        _, b, _ = await _get(sim, "/fapi/v1/listenKey", "alice", signed=False, method="POST")
        assert a == b and len(a["listenKey"]) == 64
        _, c, _ = await _get(sim, "/fapi/v1/listenKey", "bob", signed=False, method="POST")
        assert c != a
        assert (await _get(sim, "/fapi/v1/listenKey", "alice", signed=False, method="PUT"))[1] == a
        assert (await _get(sim, "/fapi/v1/listenKey", "alice", signed=False, method="DELETE"))[:2] == (
            200,
            {},
        )
        assert (await _get(sim, "/fapi/v1/listenKey", "alice", signed=False, method="PUT"))[:2] == (
            400,
            {"code": -1125, "msg": "This listenKey does not exist."},
        )
        assert (await _get(sim, "/fapi/v1/listenKey", None, method="POST"))[1]["code"] == -2014


async def test_spot_book_ticker_forms() -> None:
    """symbol → object; nothing → array; symbols=[...] (JSON) → array; both → error."""
    async with running_simulator() as sim:
        sim.pause()
        q = sim.market.quotes["BTCUSDT"]
        _, one, _ = await _get(sim, "/api/v3/ticker/bookTicker", params={"symbol": "BTCUSDT"}, spot=True)
        assert one == {
            "symbol": "BTCUSDT",
            "bidPrice": f"{q.spot_bid:.8f}",
            "bidQty": f"{q.spot_bid_qty:.8f}",
            "askPrice": f"{q.spot_ask:.8f}",
            "askQty": f"{q.spot_ask_qty:.8f}",
        }
        _, every, _ = await _get(sim, "/api/v3/ticker/bookTicker", spot=True)
        assert [x["symbol"] for x in every] == ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
        _, two, _ = await _get(
            sim, "/api/v3/ticker/bookTicker", params={"symbols": '["ETHUSDT","BTCUSDT"]'}, spot=True
        )
        assert [x["symbol"] for x in two] == ["ETHUSDT", "BTCUSDT"]
        status, _, _ = await _get(
            sim,
            "/api/v3/ticker/bookTicker",
            params={"symbol": "BTCUSDT", "symbols": '["BTCUSDT"]'},
            spot=True,
        )
        assert status == 400


async def test_api_restrictions_per_account() -> None:
    """Read-only by default; a config can grant more, and the key reports exactly that."""
    cfg = fast_config()
    trader = msgspec.structs.replace(cfg.accounts[0], permissions=("enableReading", "enableFutures"))
    async with running_simulator(msgspec.structs.replace(cfg, accounts=(trader, cfg.accounts[1]))) as sim:
        _, alice, _ = await _get(sim, "/sapi/v1/account/apiRestrictions", "alice", spot=True)
        _, bob, _ = await _get(sim, "/sapi/v1/account/apiRestrictions", "bob", spot=True)
        assert (alice["enableReading"], alice["enableFutures"], alice["enableWithdrawals"]) == (
            True,
            True,
            False,
        )
        assert {k for k, v in bob.items() if v is True} == {"enableReading"}
        assert isinstance(alice["createTime"], int)


async def test_rate_limit_answers_carry_retry_after() -> None:
    async with running_simulator() as sim:
        sim.faults.rate_limit(calls_429=1, calls_418=1, retry_after_s=7)
        s1, b1, h1 = await _get(sim, "/fapi/v1/ping")
        s2, _, h2 = await _get(sim, "/fapi/v1/ping")
        assert (s1, b1["code"], h1["Retry-After"], s2, h2["Retry-After"]) == (429, -1003, "7", 418, "7")
        assert (await _get(sim, "/fapi/v1/ping"))[0] == 200
