"""Per-market figures from the slow models: GARCH volatility now, the basis OU statistics, settled funding.

GARCH is fitted on a slow cadence; between fits the tick steps the recursion
σ²_{t+1} = ω + α r_t² + β σ²_t through every bar finished since the fit's last one, starting from
the fit's own forecast (monitor/evaluation/garch_forecast.py). That is the same number a refit-free
`arch` filter gives, and it costs a few steps per market (bars since the refit). A tick whose grids
finished no bar since the last one (the store's word: `Snapshot.mark_grid_bars`,
monitor/store/grid_bars.py) and whose fits are the same record steps through the same bars from the
same forecasts, so it takes the last tick's columns (`DynamicsKept.stepped`); at one-second ticks
over one-minute bars that is 59 ticks in 60.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter, is_

import numpy as np

from monitor.evaluation.column_keys import ColumnKeys
from monitor.evaluation.garch_forecast import GarchFits, GarchNow, _label, garch_fits, garch_tick
from monitor.evaluation.models import MarketModel, RiskModels
from monitor.evaluation.sink import FigureSink
from monitor.risk._num import BoolArray, FloatArray, IntArray, quiet
from monitor.risk.garch import has_params
from monitor.risk.reasons import Reason
from monitor.store.grid_bars import GridBars
from monitor.store.marks import mark_column, mark_keys
from monitor.store.state import Grid, Snapshot

__all__ = ["DynamicsKept", "dynamics_figures", "garch_kept"]


@dataclass(frozen=True, slots=True)
class _Fits:
    """What the fitted models say per market, in the snapshot's market order (changes with a refit)."""

    models: RiskModels  # held: valid while the daemon hands the same record back
    keys: tuple[tuple[str, str], ...]
    labs: tuple[dict[str, str], ...]
    mark_streams: tuple[tuple[str, str], ...]  # (venue, "mark:SYMBOL"): the key of its freshness
    spot_streams: tuple[tuple[str, str], ...]  # (venue, "book:spot:SYMBOL")
    spot_quotes: tuple[tuple[str, str, str], ...]  # (venue, symbol, "spot"): the spot book's quote
    fitted: list[MarketModel | None]
    garch: GarchFits
    persistence: FloatArray
    ou_why: list[str]  # the OU fit's own reason (no model, no spot history: checked per tick)
    ou_usable: BoolArray  # its reason is OK or NOT_MEAN_REVERTING: `basis_mean_reverting` has a value
    mean_reverting: FloatArray
    half_life: FloatArray
    theta: FloatArray
    mu: FloatArray
    sd: FloatArray
    z_ok: BoolArray  # mean-reverting with a positive stationary sd (`basis.ou_zscore`)


class _KeptGarch(dict[tuple[str, str], GarchNow]):
    """A tick's GARCH mapping that `DynamicsKept` holds: never written after it is made (`garch_kept`)."""


class DynamicsKept:
    """What the dynamics stage keeps between ticks, per evaluator (two daemons in one process share none).

    `fits` (the models as columns), `stepped` (the GARCH columns while no bar finished), `ou` (the
    OU reasons), `settled` (the settled-funding columns), `keys` (the columns' figure keys): each
    keyed by what it was made from, so a miss is only slower.
    """

    def __init__(self) -> None:
        self.fits: _Fits | None = None
        self.stepped: _Steps | None = None
        self.ou: tuple[_Fits, list[bool], list[str], BoolArray, BoolArray] | None = None
        self.settled: (
            tuple[
                tuple[tuple[str, str], ...],
                list[Grid | None],
                list[bool | None],
                FloatArray,
                FloatArray,
                list[str],
            ]
            | None
        ) = None
        self.keys = ColumnKeys()  # the per-market columns' keys, while the snapshot lists the same markets


_SHARED = DynamicsKept()  # for a caller with none of its own (tests, benches)


def _col(xs: list[float]) -> FloatArray:
    return np.array(xs, dtype=np.float64)


def _fits(models: RiskModels, keys: tuple[tuple[str, str], ...], kept: DynamicsKept) -> _Fits:
    old = kept.fits
    if old is not None and old.models is models and old.keys == keys:
        return old
    fitted = [models.markets.get(k) for k in keys]
    ous = [m.ou if m is not None else None for m in fitted]
    nan = math.nan
    labs = (
        old.labs
        if old is not None and old.keys == keys
        else tuple({"venue": v, "symbol": s} for v, s in keys)
    )
    kept.fits = _Fits(
        models=models,
        keys=keys,
        labs=labs,
        mark_streams=tuple((v, f"mark:{s}") for v, s in keys),
        spot_streams=tuple((v, f"book:spot:{s}") for v, s in keys),
        spot_quotes=tuple((v, s, "spot") for v, s in keys),
        fitted=fitted,
        garch=garch_fits(fitted),
        persistence=_col(
            [m.garch.alpha + m.garch.beta if m is not None and has_params(m.garch) else nan for m in fitted]
        ),
        ou_why=[_label(o.reason) if o is not None else "" for o in ous],
        ou_usable=np.array(
            [o is not None and o.reason in (Reason.OK, Reason.NOT_MEAN_REVERTING) for o in ous], dtype=bool
        ),
        mean_reverting=_col([float(o.mean_reverting) if o is not None else nan for o in ous]),
        half_life=_col([o.half_life_s if o is not None else nan for o in ous]),
        theta=_col([o.theta if o is not None else nan for o in ous]),
        mu=_col([o.mu if o is not None else nan for o in ous]),
        sd=_col([o.stationary_sd if o is not None else nan for o in ous]),
        z_ok=np.array([o is not None and o.mean_reverting and o.stationary_sd > 0 for o in ous], dtype=bool),
    )
    return kept.fits


def _column(
    kept: DynamicsKept,
    sink: FigureSink,
    name: str,
    labs: tuple[dict[str, str], ...],
    values: FloatArray,
    fresh: BoolArray | bool,
    why: list[str],
) -> None:
    sink.add_array(name, kept.keys(name, labs), values, fresh, why)


def dynamics_figures(
    snap: Snapshot,
    models: RiskModels,
    fresh: dict[tuple[str, str], bool],
    sink: FigureSink,
    *,
    step_s: float,
    kept: DynamicsKept | None = None,
) -> dict[tuple[str, str], GarchNow]:
    """Every market's figures over columns, added one name at a time (the per-market code they
    replaced is `tests/unit/evaluation/reference/dynamics.py`, held equal by the tests).

    What only a refit changes (the fits' parameters, reasons and OU statistics as columns) is
    gathered once per `RiskModels` record and market list (`_fits`); a tick reads the grids, marks
    and spot books.
    """
    age = (snap.taken_at_ns - models.fitted_at_ns) / 1e9 if models.fitted_at_ns else math.nan
    sink.add("risk_models_age_seconds", age, reason="" if models.fitted_at_ns else "not_fitted_yet")
    keys = mark_keys(snap.marks)
    if not keys:
        return {}
    kept = _SHARED if kept is None else kept
    f = _fits(models, keys, kept)
    labs = f.labs
    nan = math.nan
    ann, gwhy, out = _stepped(snap, f, keys, step_s, kept)
    n = len(keys)
    get = fresh.get
    mark_ok = np.fromiter(map(get, f.mark_streams, repeat(False)), bool, n)
    _column(kept, sink, "volatility_garch_annualized_ratio", labs, ann, mark_ok, gwhy)
    _column(kept, sink, "garch_persistence_ratio", labs, f.persistence, True, gwhy)
    # the OU statistics of the basis, spot mid − mark, where the spot history exists
    why, use, ok = _ou_reasons(f, list(map(snap.spot_grid.__contains__, keys)), kept)
    books = list(map(snap.quotes.get, f.spot_quotes))
    if None in books:
        spot = np.array([0.5 * (q.bid + q.ask) if q is not None else nan for q in books], dtype=np.float64)
    else:  # the same two operations per element
        spot = 0.5 * (
            np.fromiter(map(_BID, books), np.float64, n) + np.fromiter(map(_ASK, books), np.float64, n)
        )
    mark = mark_column(snap.marks, keys)
    with quiet():
        now = np.where((spot > 0) & (mark > 0), spot - mark, nan)
        z = np.where(use & f.z_ok, (now - f.mu) / f.sd, nan)
    z_why = list(why)
    for i in np.flatnonzero(use & ~np.isfinite(z)).tolist():
        z_why[i] = "no_spot_price"
    spot_ok = mark_ok & np.fromiter(map(get, f.spot_streams, repeat(False)), bool, n)
    _column(kept, sink, "basis_zscore", labs, z, spot_ok, z_why)
    _column(kept, sink, "basis_mean_reverting", labs, np.where(ok, f.mean_reverting, nan), True, why)
    for name, col in (
        ("basis_ou_half_life_seconds", f.half_life),
        ("basis_ou_theta_per_second", f.theta),
        ("basis_ou_mean_usd", f.mu),
        ("basis_ou_stationary_sd_usd", f.sd),
    ):
        _column(kept, sink, name, labs, np.where(use, col, nan), True, why)
    _settled(kept, sink, snap, keys, labs)
    return out


@dataclass(frozen=True, slots=True)
class _Steps:
    """One tick's GARCH columns and the finished bars they stepped through (`_stepped`)."""

    fits: GarchFits
    keys: tuple[tuple[str, str], ...]
    step_s: float
    bar_keys: tuple[tuple[str, str], ...]  # `GridBars.keys` the rows index
    rows: IntArray  # each market's row in the store's grid columns
    bars: IntArray  # (3, markets): newest bucket, length, revision, as the store said
    ann: FloatArray
    why: list[str]
    out: dict[tuple[str, str], GarchNow]  # read only


def _bar_columns(bars: GridBars, rows: IntArray) -> IntArray | None:
    """Newest bucket, length and revision per market; None when some grid promises nothing."""
    if rows.size == 0 or (rows < 0).any() or not len(bars.keys):
        return None
    rev = bars.revision[rows]
    if (rev == 0).any():
        return None
    return np.stack([bars.newest_ns[rows], bars.length[rows], rev])


def _stepped(
    snap: Snapshot, f: _Fits, keys: tuple[tuple[str, str], ...], step_s: float, kept: DynamicsKept
) -> tuple[FloatArray, list[str], dict[tuple[str, str], GarchNow]]:
    """`garch_tick` over the snapshot's grids, or the last tick's columns while they still hold.

    They hold while the fits are the same record and every grid keeps its revision, newest bucket
    and length: its finished bars (all that `garch_tick` reads) are then the same bars.
    """
    grids, bars = snap.mark_grid, snap.mark_grid_bars
    old = kept.stepped
    promised = bars is not None and bars.grids is grids
    cols: IntArray | None = None
    rows = np.zeros(0, dtype=np.intp)
    if promised and bars is not None:
        if old is not None and old.bar_keys is bars.keys and old.keys == keys:
            rows = old.rows
        else:
            index = bars.index
            rows = np.array([index.get(k, -1) for k in keys], dtype=np.intp)
        cols = _bar_columns(bars, rows)
        if (
            cols is not None
            and old is not None
            and old.fits is f.garch
            and old.step_s == step_s
            and old.keys == keys
            and np.array_equal(old.bars, cols)
        ):
            return old.ann, old.why, old.out
    s2, ann, why = garch_tick(f.garch, [grids.get(k) for k in keys], step_s)
    made = zip(keys, map(GarchNow, s2.tolist(), ann.tolist(), why), strict=True)
    if cols is not None and bars is not None:
        out: dict[tuple[str, str], GarchNow] = _KeptGarch(made)
        kept.stepped = _Steps(f.garch, keys, step_s, bars.keys, rows, cols, ann, why, out)
    else:
        out = dict(made)
        kept.stepped = None
    return ann, why, out


_BID, _ASK, _MARK = attrgetter("bid"), attrgetter("ask"), attrgetter("mark")


def _ou_reasons(f: _Fits, has_spot: list[bool], kept: DynamicsKept) -> tuple[list[str], BoolArray, BoolArray]:
    """Per market why its OU figures are missing, whether they have a value (`use`), and whether
    `basis_mean_reverting` does: from the fits and which markets have a spot history, kept while
    both hold."""
    held = kept.ou
    if held is not None and held[0] is f and held[1] == has_spot:
        return held[2], held[3], held[4]
    why = [
        "not_fitted_yet" if m is None else w if h else "no_spot_history"
        for m, w, h in zip(f.fitted, f.ou_why, has_spot, strict=True)
    ]
    use = np.array([not w for w in why], dtype=bool)
    ok = np.array(has_spot, dtype=bool) & f.ou_usable
    kept.ou = (f, has_spot, why, use, ok)
    return why, use, ok


def garch_kept(garch: object) -> bool:
    """Whether `garch` is a mapping `dynamics_figures` keeps (never written after it is made)."""
    return type(garch) is _KeptGarch


def _read_only(got: list[Grid | None]) -> bool:
    return all(s is None or not (s[0].flags.writeable or s[1].flags.writeable) for s in got)


def _settled(
    kept: DynamicsKept,
    sink: FigureSink,
    snap: Snapshot,
    keys: tuple[tuple[str, str], ...],
    labs: tuple[dict[str, str], ...],
) -> None:
    """The newest settlement per market; the last tick's columns while each market's record is the
    same read-only record (the store hands the same views back until a settlement lands)."""
    settled, estimated = snap.funding_settled, snap.funding_settled_estimated
    got = list(map(settled.get, keys))
    est = list(map(estimated.get, keys))
    held = kept.settled
    if held is not None and held[0] == keys and held[2] == est and all(map(is_, got, held[1])):
        r, t, why = held[3], held[4], held[5]
    else:
        r, t, why = _settled_columns(got, est)
        kept.settled = (keys, got, est, r, t, why) if _read_only(got) else None
    _column(kept, sink, "funding_settled_rate_ratio", labs, r, True, why)
    _column(kept, sink, "funding_settled_timestamp_seconds", labs, t, True, why)


def _settled_columns(
    got: list[Grid | None], est: list[bool | None]
) -> tuple[FloatArray, FloatArray, list[str]]:
    rate, ts, why = [], [], []
    for s, e in zip(got, est, strict=True):
        if s is None or s[1].size == 0:
            rate.append(math.nan)
            ts.append(math.nan)
            why.append("no_settlement_seen")
            continue
        # the venue's settled rate when its history was fetched; else the last estimate before the
        # settlement (it converges on the settled rate as the interval closes), said so in the reason
        why.append("estimated_before_settlement" if e is None or e else "")
        rate.append(float(s[1][-1]))
        ts.append(int(s[0][-1]) / 1e9)
    return _col(rate), _col(ts), why
