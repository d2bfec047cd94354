"""The simulated OKX checks signatures as OKX does and refuses in OKX's shapes: REST
`{"code","msg","data":[]}` with HTTP 401 and the 501xx codes, the WebSocket login
`{"event":"error","code":"600xx"}`."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import aiohttp
import pytest

from monitor.sim.okx.auth import okx_sign
from monitor.sim.testing import OKX_TEST_KEYS, OKX_TEST_PASSWORDS, okx_config, running_simulator

pytestmark = pytest.mark.integration
KEY, SECRET = (s.reveal() for s in OKX_TEST_KEYS["erin"])
PHRASE = OKX_TEST_PASSWORDS["erin"].reveal()


def _headers(path: str, *, secret: str = SECRET, phrase: str = PHRASE) -> dict[str, str]:
    ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "OK-ACCESS-KEY": KEY,
        "OK-ACCESS-PASSPHRASE": phrase,
        "OK-ACCESS-TIMESTAMP": ts,
        "OK-ACCESS-SIGN": okx_sign(secret, ts + "GET" + path),
    }


@pytest.mark.parametrize(
    ("kwargs", "drop", "code"),
    [({}, None, "0"), ({"phrase": "wrong"}, None, "50105"), ({"secret": "wrong"}, None, "50113"),
     ({}, "OK-ACCESS-PASSPHRASE", "50104"), ({}, "OK-ACCESS-SIGN", "50106")],
)  # fmt: skip
async def test_rest_signature_and_passphrase(kwargs: dict[str, str], drop: str | None, code: str) -> None:
    path = "/api/v5/account/config"
    async with running_simulator(okx_config()) as sim, aiohttp.ClientSession() as http:
        headers = _headers(path, **kwargs)
        if drop:
            del headers[drop]
        async with http.get(sim.okx.rest_url + path, headers=headers) as r:
            body = await r.json()
        assert body["code"] == code
        if code == "0":
            assert r.status == 200 and body["data"][0]["acctLv"] == "2"
        else:
            assert r.status == 401 and body["data"] == [] and PHRASE not in str(body)


async def test_multi_currency_account_reports_its_mode() -> None:
    """frank is in multi-currency margin (acctLv 3): the account level carries adjEq and mgnRatio."""
    key, secret = (s.reveal() for s in OKX_TEST_KEYS["frank"])
    phrase = OKX_TEST_PASSWORDS["frank"].reveal()
    async with running_simulator(okx_config()) as sim, aiohttp.ClientSession() as http:
        for path in ("/api/v5/account/config", "/api/v5/account/balance"):
            ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            headers = {"OK-ACCESS-KEY": key, "OK-ACCESS-PASSPHRASE": phrase, "OK-ACCESS-TIMESTAMP": ts,
                       "OK-ACCESS-SIGN": okx_sign(secret, ts + "GET" + path)}  # fmt: skip
            async with http.get(sim.okx.rest_url + path, headers=headers) as r:
                row = (await r.json())["data"][0]
            if path.endswith("config"):
                assert row["acctLv"] == "3"
            else:
                assert row["adjEq"] != "" and row["mgnRatio"] != ""


async def test_ws_login_then_private_channels() -> None:
    async with running_simulator(okx_config()) as sim, aiohttp.ClientSession() as http:
        async with http.ws_connect(sim.okx.ws_url + "/ws/v5/private") as ws:
            await ws.send_json({"op": "subscribe", "args": [{"channel": "positions", "instType": "SWAP"}]})
            assert (await ws.receive_json(timeout=5))["code"] == "60011"  # log in first
            ts = str(int(time.time()))
            bad = okx_sign("wrong", ts + "GET/users/self/verify")
            await ws.send_json(
                {"op": "login", "args": [{"apiKey": KEY, "passphrase": PHRASE, "timestamp": ts, "sign": bad}]}
            )
            assert (await ws.receive_json(timeout=5))["code"] == "60007"
            good = okx_sign(SECRET, ts + "GET/users/self/verify")
            await ws.send_json(
                {
                    "op": "login",
                    "args": [{"apiKey": KEY, "passphrase": PHRASE, "timestamp": ts, "sign": good}],
                }
            )
            assert (await ws.receive_json(timeout=5))["event"] == "login"
            await ws.send_json({"op": "subscribe", "args": [{"channel": "positions", "instType": "SWAP"}]})
            assert (await ws.receive_json(timeout=5))["event"] == "subscribe"
            snap = await ws.receive_json(timeout=5)
            assert snap["eventType"] == "snapshot" and len(snap["data"]) == 3
            await ws.send_str("ping")
            while (await ws.receive(timeout=5)).data != "pong":  # after any pushes queued before it
                pass
        async with http.ws_connect(sim.okx.ws_url + "/ws/v5/public") as ws:
            await ws.send_json(
                {"op": "subscribe", "args": [{"channel": "mark-price", "instId": "BTC-USDT-SWAP"}]}
            )
            assert (await ws.receive_json(timeout=5))["event"] == "subscribe"
            push = await ws.receive_json(timeout=5)
            assert push["arg"]["channel"] == "mark-price" and float(push["data"][0]["markPx"]) > 0
