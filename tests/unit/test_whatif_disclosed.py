"""What-if and stress assume nothing silently: tiers are named, and coin collateral or bad tiers refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from monitor.cli import main
from monitor.config import load_config
from monitor.records import AccountSnapshot, Balance, Bracket, LeverageTiers, Position
from monitor.store.state import StateStore
from monitor.whatif.disclose import snapshot_tier_sources, uncounted_collateral
from monitor.whatif.schema import parse_book
from monitor.whatif.sources import PlaceholderEnv, simulator_env

ROOT = Path(__file__).resolve().parents[2]
MARKET = '[[markets]]\nsymbol = "ETHUSDT"\nmark = 2000.0\n'
TIERS = (
    "[[markets.tiers]]\nfloor = 0.0\ncap = 100000.0\nmmr = 0.01\n"
    "[[markets.tiers]]\nfloor = 100000.0\ncap = 1000000.0\nmmr = 0.02\n"
)


def _pos(size: float, extra: str = "") -> str:
    return (
        '[[accounts]]\nname = "a"\n[[accounts.balances]]\nasset = "USDT"\nwallet = 100000.0\n'
        f'[[accounts.positions]]\nsymbol = "ETHUSDT"\nside = "long"\nsize = {size}\nentry = 2000.0\n{extra}'
    )


def _what_if(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, Any, str]:
    book = tmp_path / "book.toml"
    book.write_text(text)
    code = main(["what-if", str(book), "--json"])
    out = capsys.readouterr()
    return code, json.loads(out.out) if code == 0 else None, out.err


REFUSED = {
    "accounts[0].balances[1].asset": (
        MARKET + TIERS + _pos(1.0) + '[[accounts.balances]]\nasset = "BTC"\nwallet = 10000.0\n',
        "BTC is not a stablecoin",
    ),
    "accounts[0].positions[0].isolated_wallet": (
        MARKET + TIERS + _pos(1.0, 'margin_mode = "isolated"\n'),
        "an isolated position needs its margin",
    ),
    "accounts[0].positions[0].size": (MARKET + TIERS + _pos(600.0), "beyond the last tier"),
    "markets[0].tiers": (
        MARKET + TIERS.replace("mmr = 0.02\n", "mmr = 0.02\ncum = 500.0\n"),
        "disagrees with the venue's recursion",
    ),
}


@pytest.mark.parametrize("path", sorted(REFUSED))
def test_refused_with_the_key_and_why(path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Coin collateral, an isolated leg without margin, a leg past the last tier, a bad cum: exit 2."""
    text, why = REFUSED[path]
    code, _, err = _what_if(tmp_path, text, capsys)
    assert code == 2
    assert err.startswith(f"perpmon: book error: {path}: ") and why in err, err


def test_default_table_beyond_its_last_tier_is_refused() -> None:
    """The simulator's table has a last cap too: a leg beyond it is refused, not priced as missing_tier."""
    with pytest.raises(Exception, match="beyond the last tier of the simulator's default table"):
        parse_book(
            {
                "markets": [{"symbol": "BTCUSDT", "mark": 30000.0}],
                "accounts": [
                    {
                        "name": "a",
                        "positions": [{"symbol": "BTCUSDT", "side": "long", "size": 1e6, "entry": 3e4}],
                    }
                ],
            }
        )


def test_consistent_cum_and_isolated_with_leverage_are_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The recursion's own cum (100,000 × 0.01 = 1,000) passes; an isolated leg with leverage takes its IM."""
    text = MARKET + TIERS.replace("mmr = 0.02\n", "mmr = 0.02\ncum = 1000.0\n")
    code, doc, _ = _what_if(tmp_path, text + _pos(1.0, 'margin_mode = "isolated"\nleverage = 10\n'), capsys)
    assert code == 0
    assert (
        doc["tiers"] == {"binance/ETHUSDT": "the book's [[markets.tiers]] (2 tiers)"}
        and doc["warnings"] == []
    )


def test_default_tiers_are_named_and_warned_unless_the_venue_is_the_simulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No tiers on a real venue: the simulator's table, named with a warning; a simulated venue: named."""
    code, doc, err = _what_if(tmp_path, MARKET + _pos(1.0), capsys)
    assert code == 0
    assert doc["tiers"] == {"binance/ETHUSDT": "the simulator's Binance brackets (monitor/sim/brackets.py)"}
    [warning] = doc["warnings"]
    assert warning.startswith("WARNING binance/ETHUSDT: the book gives no tiers") and warning in err
    sim = '[[venues]]\nname = "binance"\nsimulator = true\n'
    code, doc, err = _what_if(tmp_path, sim + MARKET + _pos(1.0), capsys)
    assert code == 0 and doc["warnings"] == [] and "WARNING" not in err


def test_live_snapshot_names_tiers_and_uncounted_collateral() -> None:
    """A live book: each leg's table (or n/a), and 10,000 BTC of collateral named, not silently dropped."""
    store = StateStore()
    t = {"ts_event_ns": 1, "ts_recv_ns": 1}
    legs = (
        Position(symbol="BTCUSDT", side="BOTH", qty=1.0, entry_price=3e4, margin_mode="cross"),
        Position(symbol="ETHUSDT", side="BOTH", qty=-2.0, entry_price=2e3, margin_mode="cross"),
    )
    balances = (Balance(asset="USDT", wallet_balance=5e3), Balance(asset="BTC", wallet_balance=1e4))
    store.put(AccountSnapshot(venue="binance", account="a", positions=legs, balances=balances, **t))
    br = (Bracket(floor=0.0, cap=1e9, mmr=0.004, cum=0.0, max_leverage=125.0),)
    store.put(LeverageTiers(venue="binance", account="a", symbol="BTCUSDT", brackets=br, **t))
    snap = store.snapshot(2)
    assert snapshot_tier_sources(snap, set()) == {
        "binance/a/BTCUSDT": "the venue's own table, fetched (1 tiers)",
        "binance/a/ETHUSDT": "none fetched: n/a",
    }
    [warning] = uncounted_collateral(snap)
    assert warning.startswith("WARNING binance/a: 10,000 BTC of collateral is not counted")


def test_simulator_env_fills_only_simulated_accounts_keys() -> None:
    """Unset keys of the embedded simulator's accounts are made up; set ones and a real venue's never are."""
    cfg, _ = load_config(ROOT / "config.toml", env=PlaceholderEnv())
    env, filled = simulator_env(cfg, {"PERPMON_DEGEN_API_KEY": "mine", "PATH": "/bin"})
    assert "PERPMON_DEGEN_API_KEY" not in filled and env["PERPMON_DEGEN_API_KEY"] == "mine"
    assert "PERPMON_HEDGE_API_KEY" in filled and env["PERPMON_HEDGE_API_KEY"].startswith("sim-")
    _, secrets = load_config(ROOT / "config.toml", env=env)  # loads: every secret is there
    assert secrets.api_keys["hedge"][0].reveal() == secrets.sim_keys["hedge"][0].reveal()
    real_venues = tuple(msgspec.structs.replace(v, simulator=False) for v in cfg.venues)
    _, filled = simulator_env(msgspec.structs.replace(cfg, venues=real_venues), {})
    assert "PERPMON_HEDGE_API_KEY" not in filled and "PERPMON_DEGEN_API_SECRET" not in filled
