"""`perpmon backtest-var`: five VaR/ES models scored on a CSV of prices, at its step and at the VaR horizon.

Why the care over the input: a verdict on the wrong clock is a plausible-looking wrong verdict. The
sampling step is read off the timestamps and named (minute, hour, day), the series is split at
gaps instead of chaining a return across them (monitor/risk/sampling.py), and the models are
scored both one step ahead and at `--horizon-s` (the daemon's `var_horizon_s`) on non-overlapping
windows. Each model gets Kupiec, Christoffersen and the Basel zone for its VaR, and Acerbi–Szekely
Z2 for its ES; the verdicts are at the 95 % level.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import numpy as np

from monitor.errors import ConfigError

__all__ = ["add_command", "run"]

MIN_SCORED = 100  # a segment needs its warm-up plus this many steps to be worth scoring


def add_command(sub: Any) -> None:
    b = sub.add_parser(
        "backtest-var", help="Kupiec, Christoffersen, Basel zone and ES (Z2) backtests of five VaR models"
    )
    b.add_argument("--csv", required=True, help="CSV with a header row and a date column (any order)")
    b.add_argument("--column", default="close", help="price column (case-insensitive; default close)")
    b.add_argument("--window", type=int, default=250, help="historical-simulation window, in steps")
    b.add_argument("--start", type=int, default=1000, help="warm-up steps per segment before scoring")
    b.add_argument(
        "--horizon-s", type=float, default=86_400.0,
        help="also score at this horizon in seconds (evaluation.var_horizon_s; default one day)",
    )  # fmt: skip
    b.add_argument(
        "--refit-every", type=int, default=0,
        help="GARCH refit cadence in steps (default: every 100 steps, at most ~50 refits per segment)",
    )  # fmt: skip
    b.add_argument("--json", action="store_true", help="print JSON instead of tables")


def _pct(x: float) -> str:
    return f"{x:.0%}" if abs(x * 100 - round(x * 100)) < 1e-9 else f"{x:.1%}"


def run(args: argparse.Namespace) -> int:
    from monitor.risk.sampling import detect_sampling, segment_returns, step_name
    from monitor.risk.var_backtest import choose_model, default_refit_every, var_backtest
    from monitor.risk.var_season import MIN_PER_BIN, hour_of_day
    from monitor.risk.var_z2 import Z2_SEED, Z2_SIMS
    from monitor.whatif.price_csv import read_prices

    if args.window < 2:
        raise ConfigError("--window", "must be at least 2")
    if args.start < max(args.window, 100):
        raise ConfigError("--start", f"must be ≥ max(--window, 100) = {max(args.window, 100)}")
    series = read_prices(args.csv, args.column)
    if not series.times:
        raise ConfigError(
            "--csv", f"{args.csv} has no date column ({', '.join(_date_columns())}): the step cannot be known"
        )
    sampling = detect_sampling(np.array(series.times))
    if not math.isfinite(sampling.step_s):
        raise ConfigError("--csv", f"{args.csv}: timestamps do not increase; cannot tell the sampling step")
    segs = segment_returns(np.array(series.prices), sampling)
    long_enough = [s for s in segs if s.size >= args.start + MIN_SCORED]
    # intraday steps with at least MIN_PER_BIN days of warm-up: also the GARCH models on returns
    # scaled by their hour-of-day profile (each return's hour is its later price's)
    intraday = sampling.step_s < 86_400 and args.start * sampling.step_s >= MIN_PER_BIN * 86_400
    times = np.array(series.times)
    phases = (
        [hour_of_day(times[a + 1 : b]) for (a, b), s in zip(sampling.segments, segs, strict=True)
         if s.size >= args.start + MIN_SCORED]
        if intraday else None
    )  # fmt: skip
    if not long_enough:
        longest = max((s.size for s in segs), default=0)
        raise ConfigError(
            "--start",
            f"no gap-free stretch has {args.start} + {MIN_SCORED} returns "
            f"(longest: {longest} {sampling.name} returns); lower --start or give a longer file",
        )
    h = args.horizon_s / sampling.step_s
    horizons = [1]
    skipped_h = ""
    if h >= 1.5 and abs(h - round(h)) < 1e-6:
        if any(s.size >= args.start + MIN_SCORED * round(h) for s in long_enough):
            horizons.append(round(h))
        else:
            skipped_h = f"{step_name(args.horizon_s)} horizon: too few non-overlapping windows after warm-up"
    elif h > 1:
        skipped_h = f"horizon {args.horizon_s:g} s is not a whole number of {sampling.name} steps"
    tables: list[dict[str, Any]] = []
    for hz in horizons:
        refit = args.refit_every or default_refit_every(max(s.size for s in long_enough))
        results = var_backtest(long_enough, (0.95, 0.99), start=args.start, window=args.window,
                               refit_every=refit, horizon=hz, phases=phases)  # fmt: skip
        chosen = {f"{a:g}": (c.model if (c := choose_model(results, a)) else None) for a in (0.95, 0.99)}
        tables.append({"horizon_steps": hz, "horizon": step_name(hz * sampling.step_s), "refit_every": refit,
                       "chosen": chosen, "results": [_row(x) for x in results]})  # fmt: skip
    span = f"{series.dates[0]} → {series.dates[-1]}"
    left_out = [s.size for s in segs if s.size < args.start + MIN_SCORED]
    head = {
        "csv": args.csv,
        "column": args.column,
        "prices": len(series.prices),
        "dropped_rows": series.dropped,
        "span": span,
        "step": sampling.name,
        "step_s": sampling.step_s,
        "gaps": sampling.gaps,
        "missing_steps": sampling.missing_steps,
        "segments_scored": len(long_enough),
        "segments_too_short": len(left_out),
        "returns_left_out": int(sum(left_out)),
        "start": args.start,
        "window": args.window,
        "skipped_horizon": skipped_h,
        "hour_of_day_profile": phases is not None,
    }
    if args.json:
        print(json.dumps(_finite({**head, "tables": tables}), indent=2, allow_nan=False))
        return 0
    print(
        f"backtest-var {args.csv} [{args.column}]: {len(series.prices):,} prices ({span}), "
        f"step {sampling.name}, {series.dropped} rows dropped"
    )
    if sampling.gaps:
        print(
            f"{sampling.gaps} gap(s) ({sampling.missing_steps:,} missing steps): "
            f"split into {len(segs)} stretches; {len(long_enough)} scored, {len(left_out)} too short "
            f"({sum(left_out):,} returns left out); no return spans a gap"
        )
    span_w = step_name(args.window * sampling.step_s)
    print(f"warm-up {args.start:,} steps per stretch; historical window {args.window:,} steps ({span_w})")
    if skipped_h:
        print(f"not scored: {skipped_h}")
    if phases is not None:
        print(
            "*_hod: the GARCH models on returns divided by their hour-of-day volatility profile, "
            "estimated at each refit on the returns before it (no look-ahead)"
        )
    for t in tables:
        note = "" if t["horizon_steps"] == 1 else " (non-overlapping windows; σ scaled to the horizon)"
        print(f"\n{t['horizon']} VaR of a unit long{note}, GARCH refit every {t['refit_every']:,} steps")
        print(
            f"{'model':16s} {'VaR':>4s} {'exceptions':>10s} {'expected':>9s} {'Kupiec p':>8s} "
            f"{'indep p':>8s} {'cc p':>6s} {'zone':>6s} {'ES Z2':>6s} {'Z2 p':>6s}  verdict"
        )
        for x in t["results"]:
            print(
                f"{x['model']:16s} {_pct(x['alpha']):>4s} {x['exceptions']:10,d} {x['expected']:9.1f} "
                f"{x['p_value']:8.3f} {x['p_ind']:8.3f} {x['p_cc']:6.3f} {x['zone']:>6s} {x['z2']:+6.2f} "
                f"{x['z2_p']:6.3f}  "
                f"{x['verdict']}"
            )
        for a, m in t["chosen"].items():
            says = m if m else "none holds: no model passes Kupiec, conditional coverage and Z2"
            print(f"chosen at {_pct(float(a))}: {says}")
    print(
        "\nKupiec: exception count (χ²₁); indep: Christoffersen, do exceptions cluster (χ²₁); "
        "cc: both (χ²₂); zone: Basel traffic light; Z2: Acerbi–Szekely ES test, its p-value simulated "
        f"under each model's own distribution ({Z2_SIMS:,} draws, seed {Z2_SEED}). "
        "Verdict: accept when Kupiec, cc and Z2 all hold at 95 %."
    )
    return 0


def _row(x: Any) -> dict[str, Any]:
    k, c, z = x.kupiec, x.christoffersen, x.z2
    holds = not (k.reject or c.reject_cc or z.reject) and k.n > 0
    return {
        "model": x.model,
        "alpha": x.alpha,
        "exceptions": k.exceptions,
        "observations": k.n,
        "expected": k.expected,
        "lr": k.lr,
        "p_value": k.p_value,
        "lr_ind": c.lr_ind,
        "p_ind": c.p_ind,
        "lr_cc": c.lr_cc,
        "p_cc": c.p_cc,
        "zone": x.traffic.zone,
        "z2": z.z2,
        "z2_p": z.p_value,
        "z2_sims": z.sims,
        "kupiec_verdict": "reject" if k.reject else "accept",
        "cc_verdict": "reject" if c.reject_cc else "accept",
        "z2_verdict": "reject" if z.reject else "accept",
        "verdict": "accept" if holds else "reject",
    }


def _finite(obj: Any) -> Any:
    """NaN (a test with nothing to test) as JSON null: NaN is not JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def _date_columns() -> tuple[str, ...]:
    from monitor.whatif.price_csv import DATE_COLUMNS

    return DATE_COLUMNS
