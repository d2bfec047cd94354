"""`kind = "ccxt"` with `exchange = "okx"`: the generic collector, okx's own clients and key check.

No machine reaches OKX: the key check's one REST call is answered here with OKX's documented
`GET /api/v5/account/config` shape, and everything else is read off the collector without I/O.
"""

from __future__ import annotations

from typing import Any

import ccxt.pro as ccxtpro
import pytest

from monitor.clock import ManualClock
from monitor.collectors import build_collector
from monitor.collectors.generic.collector import CcxtProCollector
from monitor.collectors.keys import KeyRefusedError
from monitor.collectors.testing import RecordingStore
from monitor.config import parse_config
from monitor.venues import Endpoints

ENV = {"K": "okx-key-5f1e2d3c", "S": "okx-secret-9a8b7c6d", "P": "okx-pass-1234"}


def okx(allow_trading: bool = False, **venue: Any) -> CcxtProCollector:
    data = {
        "venues": [{"name": "okx", "kind": "ccxt", "exchange": "okx", "symbols": ["BTCUSDT"], **venue}],
        "accounts": [
            {
                "name": "desk",
                "venue": "okx",
                "api_key_env": "K",
                "api_secret_env": "S",
                "api_password_env": "P",
                "allow_trading_key": allow_trading,
            }
        ],
    }
    cfg, secrets = parse_config(data, ENV)
    c = build_collector(cfg.venues[0], cfg, secrets, Endpoints(), RecordingStore(), ManualClock())
    assert isinstance(c, CcxtProCollector)
    return c


class _OkxAnswers:
    """What ccxt's okx client returns for the account config call (and nothing else is asked)."""

    def __init__(self, perm: str, ip: str) -> None:
        self.body = {"code": "0", "data": [{"perm": perm, "ip": ip, "uid": "44705892343619584"}], "msg": ""}
        self.closed = False

    async def privateGetAccountConfig(self) -> dict[str, Any]:
        return self.body

    async def close(self) -> None:
        self.closed = True


def answer(c: CcxtProCollector, monkeypatch: pytest.MonkeyPatch, perm: str, ip: str = "") -> list[Any]:
    made: list[Any] = []

    def new(exchange_id: str, account: str | None = None) -> Any:
        assert (exchange_id, account) == ("okx", "desk")
        made.append(_OkxAnswers(perm, ip))
        return made[-1]

    monkeypatch.setattr(c, "_new", new)
    return made


async def test_config_selects_the_generic_collector_with_okx_clients() -> None:
    """The venue's clients are ccxt.pro okx instances carrying the account's key and passphrase."""
    c = okx(spot_symbols=["BTCUSDT"])
    assert (c.exchange_id, c.spot_id) == ("okx", "okx")
    assert sorted(c.tasks()) == [
        "okx.account.desk",
        "okx.ccxt.books",
        "okx.ccxt.marks",
        "okx.ccxt.spot",
        "okx.reference",
    ]
    ex = c._new("okx", "desk")
    try:
        assert isinstance(ex, ccxtpro.okx)
        assert (ex.apiKey, ex.secret, ex.password) == (ENV["K"], ENV["S"], ENV["P"])
    finally:
        await ex.close()


async def test_a_read_only_okx_key_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    c = okx()
    made = answer(c, monkeypatch, "read_only", ip="203.0.113.7")
    await c.check_keys()
    assert made and made[0].closed


@pytest.mark.parametrize(("perm", "allow", "refused"), [
    ("read_only,trade", False, "can trade"),
    ("read_only,withdraw", True, "can withdraw"),
])  # fmt: skip
async def test_an_okx_key_that_can_do_more_than_read_is_refused(
    monkeypatch: pytest.MonkeyPatch, perm: str, allow: bool, refused: str
) -> None:
    """Trading unless allowed; withdrawal always; the error names the account, never the key."""
    c = okx(allow_trading=allow)
    answer(c, monkeypatch, perm)
    with pytest.raises(KeyRefusedError, match=refused) as err:
        await c.check_keys()
    assert "'desk'" in str(err.value)
    assert all(v not in str(err.value) for v in ENV.values())


async def test_an_allowed_okx_trading_key_is_watched(monkeypatch: pytest.MonkeyPatch) -> None:
    c = okx(allow_trading=True)
    answer(c, monkeypatch, "read_only,trade")
    await c.check_keys()


@pytest.mark.parametrize(
    ("exchange", "spot"), [("binanceusdm", "binance"), ("bybit", "bybit"), ("okx", "okx")]
)
async def test_the_spot_client_and_its_options_are_the_venues_ccxt_quirks(exchange: str, spot: str) -> None:
    """Binance's perps trade on `binanceusdm` and its spot on `binance`, whose client loads spot and
    linear markets only; other venues' spot is the perp client's id, with ccxt's own options."""
    c = okx(exchange=exchange)
    assert c.spot_id == spot
    ex, plain = c._new(spot), getattr(ccxtpro, spot)({})
    try:
        own = plain.options.get("fetchMarkets")
        wanted = {**own, "types": ["spot", "linear"]} if spot == "binance" else own
        assert ex.options.get("fetchMarkets") == wanted
        assert ex.options["fetchCurrencies"] is False
    finally:
        await ex.close()
        await plain.close()
