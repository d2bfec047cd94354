"""A user's own history in Binance's public-data-archive format: read, checked, replayed.

The files are written here in the archive's formats (twelve-column klines with and without the
2022 header, spot's microsecond stamps, the monthly funding CSV) and read back through the
simulator; each malformed or gappy file must be refused with its name, its line and the reason.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from monitor.clock import ManualClock
from monitor.config import ConfigError, parse_config
from monitor.sim.archive import ArchiveError, load_user_replay, read_funding, read_klines
from monitor.sim.funding import last_funding_ms
from monitor.sim.market import Market
from monitor.sim.server import Simulator
from monitor.sim.testing import TEST_KEYS, fast_config
from tests.unit.sim.archive_files import (
    KLINE_HEADER,
    T0_MS,
    funding_file,
    kline_lines,
    perp_file,
    spot_file,
    write,
)

PERP = [40_000.0 - 50.0 * i for i in range(30)]
SPOT = [p * 1.002 for p in PERP]  # spot 20 bps above the perpetual throughout


def _tree(root: Path) -> Path:
    perp_file(root, "BTCUSDT", PERP)
    spot_file(root, "BTCUSDT", SPOT)
    funding_file(root, "BTCUSDT", [0.0001, -0.0002, 0.00015])
    return root


def test_an_archive_tree_is_read_with_its_symbols_and_kinds(tmp_path: Path) -> None:
    user = load_user_replay(_tree(tmp_path))
    assert user.symbols == ("BTCUSDT",)
    assert [b.close for b in user.perp["BTCUSDT"]] == pytest.approx(PERP)
    assert user.spot["BTCUSDT"][0].open_ms == T0_MS  # microseconds read as such
    assert [r.rate for r in user.funding["BTCUSDT"]] == [0.0001, -0.0002, 0.00015]
    assert user.first_ms == T0_MS


def test_the_market_replays_the_users_perp_with_the_users_spot_as_index(tmp_path: Path) -> None:
    clock = ManualClock()
    m = Market(replay=str(_tree(tmp_path)), speed=60.0, loop="stop", seed=7, clock=clock)
    assert set(m.specs) == {"BTCUSDT"} and m.epoch_s == T0_MS / 1000
    for _ in range(3):
        clock.advance(7.0)  # seven replayed minutes at 60×
        m.advance()
        last, index, premium, _crash, _ma = m.state_at("BTCUSDT", m.elapsed_s)
        t = m.replay_s
        assert last == pytest.approx(m.perp_path.price_at(t))
        assert index / last == pytest.approx(1.002, rel=2e-3)  # the user's spot, not a simulated one
        assert premium < 0  # perp below spot: the funding estimate leans negative
    q = m.quotes["BTCUSDT"]
    assert q.index == pytest.approx(q.last * 1.002, rel=2e-3)


def test_the_users_funding_is_the_history_the_venue_serves(tmp_path: Path) -> None:
    clock = ManualClock()
    sim = Simulator(fast_config(replay=str(_tree(tmp_path)), accounts=()), TEST_KEYS, clock)
    rows = sim.funding.query("BTCUSDT", None, None, 1000)
    assert [r.rate for r in rows] == [0.0001, -0.0002, 0.00015]
    end = last_funding_ms(clock.now_ns() // 1_000_000, 8)
    assert [r.time_ms for r in rows] == [end - 16 * 3_600_000, end - 8 * 3_600_000, end]


def test_a_zipped_file_reads_like_the_csv_it_holds(tmp_path: Path) -> None:
    csv_path = perp_file(tmp_path / "plain", "BTCUSDT", PERP)
    zipped = tmp_path / "BTCUSDT-1m-2024-01-01.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.write(csv_path, csv_path.name)
    assert read_klines(zipped) == read_klines(csv_path)


def _bad(tmp_path: Path, lines: list[str]) -> ArchiveError:
    path = write(tmp_path / "BTCUSDT-1m-2024-01-01.csv", lines)
    with pytest.raises(ArchiveError) as err:
        read_klines(path)
    assert err.value.file == str(path) and str(path) in str(err.value)
    return err.value


def test_a_missing_minute_is_refused_with_the_file_the_line_and_the_gap(tmp_path: Path) -> None:
    rows = kline_lines(PERP)
    err = _bad(tmp_path, [KLINE_HEADER, *rows[:10], *rows[13:]])
    assert err.line == 12  # header + 10 rows, then the first row after the gap
    assert "gap: 3 minute(s) missing after 2024-01-01 08:09 UTC" in err.reason


def test_a_field_that_is_not_a_number_is_refused_on_its_line(tmp_path: Path) -> None:
    rows = kline_lines(PERP)
    rows[4] = rows[4].replace(rows[4].split(",")[2], "n/a", 1)
    err = _bad(tmp_path, rows)
    assert err.line == 5 and "not a number" in err.reason


def test_a_bar_whose_low_is_above_its_open_is_refused(tmp_path: Path) -> None:
    rows = kline_lines(PERP)
    f = rows[7].split(",")
    f[3] = str(float(f[1]) + 10)  # low above open
    rows[7] = ",".join(f)
    err = _bad(tmp_path, rows)
    assert err.line == 8 and "low" in err.reason


def test_a_repeated_minute_is_refused(tmp_path: Path) -> None:
    rows = kline_lines(PERP)
    rows[6] = rows[5]
    err = _bad(tmp_path, rows)
    assert err.line == 7 and "not after" in err.reason


def test_spot_that_does_not_cover_the_perpetual_is_refused_naming_the_spot_file(tmp_path: Path) -> None:
    perp_file(tmp_path, "BTCUSDT", PERP)
    spot = spot_file(tmp_path, "BTCUSDT", SPOT[:20])
    with pytest.raises(ArchiveError) as err:
        load_user_replay(tmp_path)
    assert err.value.file == str(spot) and "not the perpetual's" in err.value.reason


def test_a_funding_rate_that_is_not_a_fraction_is_refused(tmp_path: Path) -> None:
    path = funding_file(tmp_path, "BTCUSDT", [0.0001, 1.5])
    with pytest.raises(ArchiveError) as err:
        read_funding(path)
    assert err.value.line == 3 and "fraction" in err.value.reason


def test_the_config_checks_the_replay_folder_at_start(tmp_path: Path) -> None:
    good = _tree(tmp_path / "good")
    data = {"simulator": {"enabled": True, "replay": str(good)}, "venues": [], "accounts": []}
    cfg, _ = parse_config(data, {})
    assert cfg.simulator.replay == str(good)
    rows = kline_lines(PERP)
    write(tmp_path / "bad" / "BTCUSDT-1m-2024-01-01.csv", [*rows[:3], *rows[5:]])
    with pytest.raises(ConfigError) as err:
        parse_config({"simulator": {"enabled": True, "replay": str(tmp_path / "bad")}}, {})
    assert "simulator.replay" in str(err.value) and "BTCUSDT-1m-2024-01-01.csv:4" in str(err.value)
    with pytest.raises(ConfigError, match="crash-2021-05-19"):  # a misspelt window: the choices
        parse_config({"simulator": {"enabled": True, "replay": "crash-2021-05-20"}}, {})
    eth = {"symbol": "ETHUSDT", "qty": 1.0, "leverage": 5.0}
    acct = {"name": "a", "api_key_env": "K", "api_secret_env": "S", "wallet_usdt": 1e4, "positions": [eth]}
    with pytest.raises(ConfigError, match="ETHUSDT is not in the replay"):
        parse_config({"simulator": {"enabled": True, "replay": str(good), "accounts": [acct]}}, {})


def test_perpmon_sim_replay_refuses_a_bad_folder_with_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.cli import main

    rows = kline_lines(PERP)
    bad = write(tmp_path / "BTCUSDT-1m-2024-01-01.csv", [*rows[:3], *rows[5:]])
    assert main(["sim", "--replay", str(tmp_path)]) == 2
    assert f"{bad}:4: gap: 2 minute(s) missing after 2024-01-01 08:02 UTC" in capsys.readouterr().err


def test_a_synthetic_path_starts_from_the_users_first_price(tmp_path: Path) -> None:
    cfg = fast_config(replay=str(_tree(tmp_path)), path="synthetic", synthetic_days=0.2, accounts=())
    sim = Simulator(cfg, TEST_KEYS, ManualClock())
    assert set(sim.market.specs) == {"BTCUSDT"}
    assert sim.market.perp_path.prices[0] == pytest.approx(PERP[0])
