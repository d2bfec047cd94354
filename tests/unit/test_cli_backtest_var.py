"""`perpmon backtest-var`: the printed Kupiec counts are risk.var_backtest's on the same returns."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.special import ndtri

from monitor.cli import main
from monitor.risk.backtest import count_exceptions, kupiec_pof
from monitor.risk.var import historical_var_es
from monitor.risk.var_backtest import var_backtest
from monitor.risk.volatility import ewma_variance_path
from monitor.whatif.price_csv import parse_stamp, read_prices
from tests.unit.risk._data import DATA, btc_daily_closes, btc_daily_log_returns

ROOT = Path(__file__).resolve().parents[2]


def _us(iso: str) -> str:
    """2017-08-17 → 8/17/2017: the upstream file mixes both formats (ISO only for its newest rows)."""
    y, m, d = iso.split("-")
    return f"{int(m)}/{int(d)}/{y}"


def newest_first_csv(path: Path, rows: int | None = None) -> Path:
    """The shipped daily closes written like the upstream export: header, newest first, one bad row."""
    lines = [ln for ln in DATA.read_text().splitlines()[4:] if ln.strip()]
    if rows is not None:
        lines = lines[:rows]
    body = [
        f"{_us(d) if i >= 2 else d},BTCUSDT,{c}"
        for i, (d, c) in enumerate(ln.split(",") for ln in reversed(lines))
    ]
    body.insert(3, "2017-08-16,BTCUSDT,n/a")  # a bad price drops its row, never the run
    path.write_text("# exported from somewhere\nDate,Symbol,Close\n" + "\n".join(body) + "\n")
    return path


def test_backtest_var_on_the_shipped_history(tmp_path: Path) -> None:
    """As a process on 3,115 daily closes (newest first): the file's two missing days split it, the
    short stretches after them are left out, and the counts, LR and verdicts equal the library's on
    the long stretch."""
    csv = newest_first_csv(tmp_path / "btc.csv")
    res = subprocess.run([sys.executable, "-m", "monitor", "backtest-var", "--csv", str(csv), "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)  # fmt: skip
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    chained = btc_daily_log_returns()
    assert (doc["prices"], doc["dropped_rows"], doc["span"]) == (
        chained.size + 1,
        1,
        "8/17/2017 → 2026-02-27",
    )
    assert (doc["step"], doc["gaps"], doc["missing_steps"]) == ("1 day", 2, 2)
    assert (doc["segments_scored"], doc["segments_too_short"]) == (1, 2)
    closes = btc_daily_closes()
    dates = [ln.split(",")[0] for ln in DATA.read_text().splitlines()[4:] if ln.strip()]
    first_gap = dates.index("2026-01-07")  # the last day before the first missing one (2026-01-08)
    r = np.diff(np.log(closes[: first_gap + 1]))
    assert doc["returns_left_out"] == chained.size - r.size - 2  # two returns would have spanned the gaps
    [table] = doc["tables"]  # daily data: the one-day horizon is the step itself
    assert table["horizon"] == "1 day"
    got = {(x["model"], x["alpha"]): x for x in table["results"]}
    want = var_backtest(r, (0.95, 0.99), start=1000, window=250)
    assert len(got) == len(want) == 10
    for w in want:
        g = got[(w.model, w.alpha)]
        assert (g["exceptions"], g["observations"]) == (w.kupiec.exceptions, w.kupiec.n)
        assert g["lr"] == pytest.approx(w.kupiec.lr)
        assert g["kupiec_verdict"] == ("reject" if w.kupiec.reject else "accept")
    for w in want:
        g = got[(w.model, w.alpha)]
        assert g["p_cc"] == pytest.approx(w.christoffersen.p_cc)
        assert (g["zone"], g["z2"]) == (w.traffic.zone, pytest.approx(w.z2.z2))
        assert (g["z2_p"], g["z2_sims"]) == (pytest.approx(w.z2.p_value), 2000)  # simulated, seeded
        assert g["z2_verdict"] == ("reject" if w.z2.p_value < 0.05 else "accept")
    for alpha in (0.95, 0.99):  # the closed-form models, recomputed from the primitives
        ewma = np.sqrt(ewma_variance_path(r, 0.94)[1000 : r.size]) * float(ndtri(alpha))
        hist = np.array([historical_var_es(r[t - 250 : t], alpha).var for t in range(1000, r.size)])
        for model, var in (("ewma_normal", ewma), ("historical_250", hist)):
            x, n = count_exceptions(r[1000:], var)
            assert (got[(model, alpha)]["exceptions"], got[(model, alpha)]["observations"]) == (x, n)
            assert got[(model, alpha)]["lr"] == pytest.approx(kupiec_pof(x, n, alpha).lr)
    assert got[("ewma_normal", 0.99)]["verdict"] == "reject"  # thin normal tails fail at 99 %


def test_backtest_var_text_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The table prints each model's exceptions at 95 % and 99 % with its verdict."""
    csv = newest_first_csv(tmp_path / "short.csv", rows=700)
    assert main(["backtest-var", "--csv", str(csv), "--start", "300", "--window", "100"]) == 0
    out = capsys.readouterr().out
    r = np.diff(np.log(np.loadtxt(DATA, delimiter=",", comments="#", skiprows=4, usecols=1)[:700]))
    assert "step 1 day" in out and "1 day VaR of a unit long" in out
    for w in var_backtest(r, start=300, window=100, refit_every=100):
        k, c = w.kupiec, w.christoffersen
        verdict = "reject" if (k.reject or c.reject_cc or w.z2.reject) else "accept"
        cells = (
            w.model,
            f"{w.alpha:.0%}",
            k.exceptions,
            f"{k.expected:.1f}",
            f"{k.p_value:.3f}",
            f"{c.p_ind:.3f}",
            f"{c.p_cc:.3f}",
            w.traffic.zone,
            re.escape(f"{w.z2.z2:+.2f}"),
            f"{w.z2.p_value:.3f}",
        )
        line = r"\s+".join(str(c) for c in (*cells, verdict))
        assert re.search(line, out), (line, out)


@pytest.mark.parametrize(
    ("argv", "key"),
    [(["--column", "open"], "--column"), (["--start", "5000"], "--start"), (["--window", "1"], "--window")],
)
def test_backtest_var_bad_input_exits_2(
    argv: list[str], key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing column or an impossible start/window is an input error (exit 2) naming the option."""
    csv = newest_first_csv(tmp_path / "btc.csv")
    assert main(["backtest-var", "--csv", str(csv), *argv]) == 2
    assert capsys.readouterr().err.startswith(f"perpmon: input error: {key}: ")


def test_dates_are_parsed_not_sorted_as_text(tmp_path: Path) -> None:
    """ISO, US slash, day-first and unix dates order rows by time; an unreadable date drops its row."""
    assert parse_stamp("2/25/2026") < parse_stamp("2026-02-26") < parse_stamp("10/1/2026")  # type: ignore[operator]
    assert parse_stamp("25/2/2026", day_first=True) == parse_stamp("2026-02-25")
    assert parse_stamp("1700000000") == 1_700_000_000.0
    assert parse_stamp("yesterday") is None
    csv = tmp_path / "p.csv"
    csv.write_text("timestamp,close\n13/1/2024,3\n2/1/2024,2\n1/1/2024,1\nsoon,9\n")
    series = read_prices(str(csv), "close")
    assert (series.prices, series.dropped) == ([1.0, 2.0, 3.0], 1)


def test_minute_file_by_open_time_ms_is_ordered_named_and_split_at_its_gaps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15: a Binance-style `open_time_ms` file, newest first, with two windows a day apart: the
    rows are ordered by time (not file order), the step is named "1 minute" (not days), and no return
    chains across the gap between the windows."""
    rng = np.random.default_rng(7)
    t0 = 1_621_382_400_000  # 2021-05-19 00:00 UTC, in ms
    stamps = [t0 + 60_000 * i for i in range(300)] + [t0 + 86_400_000 + 60_000 * i for i in range(300)]
    prices = 40_000 * np.exp(np.cumsum(rng.normal(0, 1e-3, len(stamps))))
    rows = [f"E,{t},{p:.2f}" for t, p in zip(stamps, prices, strict=True)]
    csv = tmp_path / "crash.csv"
    csv.write_text("event,open_time_ms,close\n" + "\n".join(reversed(rows)) + "\n")
    argv = ["backtest-var", "--csv", str(csv), "--start", "100", "--window", "100"]
    assert main([*argv, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["step"], doc["gaps"], doc["segments_scored"]) == ("1 minute", 1, 2)
    assert doc["span"].startswith(str(t0))  # oldest first: the file's newest-first order is not taken
    [table] = [t for t in doc["tables"] if t["horizon_steps"] == 1]
    [hist] = [r for r in table["results"] if r["model"] == "historical_100" and r["alpha"] == 0.99]
    assert hist["observations"] == 2 * (299 - 100)  # each window's own returns after its warm-up
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "step 1 minute" in out and "1 gap(s)" in out and "no return spans a gap" in out
    assert "1 minute VaR of a unit long" in out
