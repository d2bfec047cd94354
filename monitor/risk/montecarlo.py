"""Monte Carlo VaR/ES of a hedged book over a horizon, and the chance any position touches its LP (§8).

Per step of `step_s` seconds and per asset: the spot log return is GARCH(1,1)-t (σ² recursion
with the fitted ω, α, β, ν; unit-variance Student-t innovations, optionally correlated across
assets, with one χ² mixing draw shared by all assets so correlated tails stay joint), the basis
B = spot − perp follows its exact OU transition, and funding is a block bootstrap from history
(each path starts at a random historical settlement and reads forward, so the autocorrelation of
funding regimes is kept) and is paid at each settlement, −q·mark·r, at the simulated mark. The
perp mark is S − B; basis and touches are simulated only for assets that carry perps.

Why paths and not a one-period draw: liquidation happens the first time the mark crosses the
LP, not at the horizon. The touch test is on the simulated grid, so it slightly *underestimates*
touches between grid points; use a step no longer than the GARCH fit's period (which it must
equal anyway). LPs are taken as fixed over the horizon (other cross positions' MM/UPnL frozen,
as in Binance's own formula).

Randomness is an input: pass a seeded `numpy.random.Generator`. Paths are simulated in chunks so
memory stays bounded (≈ 10 arrays of chunk × assets floats).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from monitor.risk._num import FloatArray, IntArray, as_float, quiet
from monitor.risk.reasons import Reason
from monitor.risk.var import historical_var_es

__all__ = ["McBook", "McMarket", "McResult", "McSimulation", "monte_carlo", "quantile_standard_error"]


class McMarket(NamedTuple):
    """Per-asset model inputs, every array shape (k,) unless noted; GARCH params per step, raw units."""

    spot: FloatArray
    basis: FloatArray  # spot − perp mark now
    omega: FloatArray
    alpha: FloatArray
    beta: FloatArray
    nu: FloatArray
    sigma2: FloatArray  # variance forecast for the first step's return
    ou_theta: FloatArray  # 1/s; 0 with ou_sigma 0 freezes the basis on purpose
    ou_mu: FloatArray
    ou_sigma: FloatArray  # per √s
    funding_history: FloatArray  # (n_hist, k) per-interval rates, oldest first
    funding_interval_h: FloatArray
    loading: FloatArray | None = None  # one-factor correlation: z = l·f + √(1 − l²)·e
    # (k, k) any square root A of the innovation correlation C (A·Aᵀ = C; z = A·e): a lower Cholesky
    # factor or the eigen-based V·√Λ the evaluator passes (a singular C has no Cholesky factor)
    chol: FloatArray | None = None


class McBook(NamedTuple):
    """Positions: spot/custody holdings per asset (k,), perps (m,) with their asset and LP (NaN = none)."""

    spot_q: FloatArray
    perp_asset: IntArray
    perp_q: FloatArray
    perp_lp: FloatArray


class McResult(NamedTuple):
    """Horizon PnL VaR/ES (positive losses) and LP touch probabilities; NaN unless reason is OK."""

    var: float
    es: float
    alpha: float
    p_any_touch: float
    p_touch: FloatArray  # per perp position
    mean_pnl: float
    n_paths: int
    reason: Reason
    var_se: float = math.nan  # standard error of `var` from the paths' sampling (quantile_standard_error)


def _nan(alpha: float, m: int, reason: Reason) -> McResult:
    return McResult(math.nan, math.nan, alpha, math.nan, np.full(m, np.nan), math.nan, 0, reason)


def _check(mk: McMarket, book: McBook, horizon_s: float, step_s: float, n_paths: int, alpha: float) -> Reason:
    if not (0 < alpha < 1) or n_paths < 1 or not (step_s > 0) or not (horizon_s >= step_s):
        return Reason.BAD_PARAMETER
    per_asset = [mk.spot, mk.basis, mk.omega, mk.alpha, mk.beta, mk.nu, mk.sigma2, mk.ou_theta, mk.ou_mu,
                 mk.ou_sigma, mk.funding_interval_h, book.spot_q]  # fmt: skip
    if any(not np.all(np.isfinite(as_float(a))) for a in per_asset):
        return Reason.NAN_INPUT
    if not (np.all(np.isfinite(book.perp_q)) and np.all(np.isfinite(mk.funding_history))):
        return Reason.NAN_INPUT
    asset = np.asarray(book.perp_asset)
    if book.spot_q.size != mk.spot.size or np.any(asset < 0) or np.any(asset >= mk.spot.size):
        return Reason.BAD_PARAMETER
    if np.any(mk.spot <= 0) or np.any(mk.spot - mk.basis <= 0):
        return Reason.NON_POSITIVE_PRICE
    if np.any(mk.nu <= 2) or np.any(mk.funding_interval_h <= 0) or np.any(mk.ou_theta < 0):
        return Reason.BAD_PARAMETER
    if mk.funding_history.ndim != 2 or mk.funding_history.shape[1] != mk.spot.size:
        return Reason.BAD_PARAMETER
    if mk.funding_history.shape[0] == 0:
        return Reason.EMPTY_HISTORY
    return Reason.OK


def monte_carlo(
    market: McMarket, book: McBook, *, horizon_s: float, step_s: float, n_paths: int, alpha: float,
    rng: np.random.Generator, chunk_elems: int = 4_000_000,
) -> McResult:  # fmt: skip
    """Simulate `n_paths` paths of `horizon_s / step_s` steps; VaR/ES of total PnL and LP touches."""
    reason = _check(market, book, horizon_s, step_s, n_paths, alpha)
    if reason != Reason.OK:
        return _nan(alpha, int(book.perp_q.size), reason)
    k = max(int(market.spot.size), 1)
    chunk = max(1, min(n_paths, chunk_elems // k))
    sim = McSimulation(market, book, horizon_s=horizon_s, step_s=step_s, n_paths=n_paths, rng=rng,
                       chunk_paths=chunk)  # fmt: skip
    while not sim.done:
        sim.advance()
    return sim.result(alpha)


class McSimulation:
    """One Monte Carlo run advanced a chunk of paths at a time; every confidence reads the same paths.

    Why in pieces: the slow-model scheduler (monitor/refit.py) spends a CPU budget, and one run at
    600 assets costs tens of CPU seconds; `advance(max_steps)` runs a few steps of the current
    chunk of paths, a slice it can pace. Chunks stay wide (tens of paths × every asset per numpy
    call): cut into two-path chunks instead, the per-step overhead made a path 3.7× dearer. The
    chunks draw from one generator in order, so a run's paths depend only on the seed,
    `chunk_paths` and the path count, and `resize` may change the count after the first chunks
    (sized by their measured cost) without changing the paths already drawn. `reason` is not OK
    when the inputs cannot be simulated.
    """

    def __init__(
        self, market: McMarket, book: McBook, *, horizon_s: float, step_s: float, n_paths: int,
        rng: np.random.Generator, chunk_paths: int,
    ) -> None:  # fmt: skip
        self.market, self.book, self.horizon_s, self.step_s = market, book, horizon_s, step_s
        self.n_paths, self.chunk_paths, self._rng = n_paths, max(1, chunk_paths), rng
        self.m = int(book.perp_q.size)
        self.reason = _check(market, book, horizon_s, step_s, max(n_paths, 1), 0.5)
        if n_paths < 1:
            self.reason = Reason.BAD_PARAMETER
        self.steps = max(1, round(horizon_s / step_s)) if self.reason == Reason.OK else 0
        self.assets = int(market.spot.size)
        self._mix = _mixing(market.nu) if self.reason == Reason.OK else None
        self._pnl: list[FloatArray] = []
        self._touches = np.zeros(self.m)
        self._any_touch = 0
        self.simulated = 0
        self._chunk: Generator[None, None, tuple[FloatArray, npt.NDArray[np.bool_]]] | None = None
        self._chunk_n = 0

    @property
    def done(self) -> bool:
        return self.reason != Reason.OK or (self.simulated >= self.n_paths and self._chunk is None)

    def resize(self, n_paths: int) -> None:
        """Set the total path count; never below the paths already simulated or being simulated."""
        self.n_paths = max(n_paths, self.simulated + (self._chunk_n if self._chunk is not None else 0), 1)

    def advance(self, max_steps: int | None = None) -> int:
        """Simulate up to `max_steps` steps of the current chunk (None: the whole chunk).

        Returns the paths completed by this call: the chunk's size when it finished, else 0.
        """
        if self.done:
            return 0
        assert self._mix is not None
        if self._chunk is None:
            self._chunk_n = min(self.chunk_paths, self.n_paths - self.simulated)
            self._chunk = _simulate(self.market, self._mix, self.book, self.horizon_s, self.step_s,
                                    self._chunk_n, self._rng)  # fmt: skip
        try:
            for _ in range(self.steps + 1 if max_steps is None else max(1, max_steps)):
                next(self._chunk)
        except StopIteration as stop:
            p, t = stop.value
            self._chunk = None
            self._pnl.append(p)
            self._touches += t.sum(axis=0)
            self._any_touch += int(np.count_nonzero(t.any(axis=1))) if self.m else 0
            self.simulated += self._chunk_n
            return self._chunk_n
        return 0

    def result(self, alpha: float) -> McResult:
        """VaR/ES at `alpha` over the paths simulated so far (all of them once `done`)."""
        if self.reason != Reason.OK:
            return _nan(alpha, self.m, self.reason)
        if not (0 < alpha < 1):
            return _nan(alpha, self.m, Reason.BAD_PARAMETER)
        n = self.simulated
        if n == 0:
            return _nan(alpha, self.m, Reason.EMPTY_HISTORY)
        pnl = self._pnl[0] if len(self._pnl) == 1 else np.concatenate(self._pnl)
        self._pnl = [pnl]
        res = historical_var_es(pnl, alpha, min_obs=1)
        mean = float(pnl.mean())
        se = quantile_standard_error(pnl, 1.0 - alpha)
        return McResult(res.var, res.es, alpha, self._any_touch / n, self._touches / n, mean, n, res.reason,
                        se)  # fmt: skip


def quantile_standard_error(x: FloatArray, p: float) -> float:
    """Standard error of the sample p-quantile of `x`, distribution-free, from two order statistics.

    The number of samples below the true quantile is binomial(n, p), with sd d = √(n·p·(1 − p)); the
    order statistics d ranks either side of the estimate span about ±1 standard error, so half
    their distance is the SE (no density estimate needed, O(n) by partial selection). NaN below
    two samples either side.
    """
    n = int(x.size)
    d = math.sqrt(n * p * (1.0 - p))
    h = p * (n - 1)
    lo, hi = math.floor(h - d), math.ceil(h + d)
    if n < 3 or lo < 0 or hi > n - 1 or hi <= lo:
        return math.nan
    part = np.partition(x, (lo, hi))
    return 0.5 * float(part[hi] - part[lo])


_MIX_GRID = np.linspace(-8.0, 8.0, 257)  # normal scores; |g| > 8 has probability 1e-15


class _Mixing(NamedTuple):
    """How each step's χ² mixing is drawn: one shared Gamma(ν/2) draw, or a quantile table."""

    shared_nu: float | None  # every asset has this ν: the exact multivariate t
    log_q: FloatArray | None  # (grid, distinct ν) ln Gamma(ν/2) quantile at Φ(grid)
    column: IntArray | None  # asset → column of log_q


def _mixing(nu: FloatArray) -> _Mixing:
    """The shared mixing for the assets' ν (see `_innovations` for why it is shared).

    A multivariate t divides every asset's correlated normal by one χ²_ν draw per path and step, so
    a large move on one asset comes with large moves on its correlated peers (tail dependence).
    Separate χ² draws per asset made the tails near independent even at ρ = 0.99 (joint 1 % tail
    ≈ 0.1 % instead of ≈ 0.9 %), understating the VaR of a book whose legs crash together.

    GARCH fits give each asset its own ν. Then the draw is the grouped t (Daul, De Giorgi, Lindskog
    and McNeil 2003): one uniform U per path and step, shared, through each asset's own χ²_{ν_j}
    quantile. Every marginal stays exactly t(ν_j), the mixing is comonotone (the strongest tail
    dependence ν_j allow) and with equal ν it is the multivariate t. The quantile (scipy's
    gammaincinv, ≈ 2 µs a value) is tabulated once per run on 257 normal scores and interpolated
    in logs (relative error < 5e-4 for ν ≥ 2.2). Rejected: χ²_{ν_min} shared plus χ²_{ν_j − ν_min}
    per asset (exact marginals, but at ν = 3 and 8 with ρ = 0.99 the joint 1 % tail fell to 0.3 %;
    the grouped t gives 0.65 %), and one ν for all (wrong marginals). Caveat: with ν that far apart
    the two t shapes differ, so at the 1 % level a Gaussian copula's joint tail (0.85 %) is higher;
    further out (0.1 %) the grouped t's tail dependence wins, which is where VaR and ES live.
    """
    from scipy.special import gammainccinv, gammaincinv, ndtr

    distinct, column = np.unique(np.asarray(nu, dtype=np.float64), return_inverse=True)
    if distinct.size == 1:
        return _Mixing(float(distinct[0]), None, None)
    a = distinct[None, :] / 2.0
    g = _MIX_GRID[:, None]
    with quiet():
        q = np.where(g < 0, gammaincinv(a, ndtr(g)), gammainccinv(a, ndtr(-g)))
    return _Mixing(None, np.log(q), column.astype(np.intp))


def _innovations(mk: McMarket, mix: _Mixing, n: int, rng: np.random.Generator) -> FloatArray:
    """Unit-variance Student-t(ν_j) draws, correlated through the normal part and a shared χ² (`_mixing`)."""
    k = mk.spot.size
    z = rng.standard_normal((n, k))
    if mk.chol is not None:
        z = z @ np.asarray(mk.chol).T
    elif mk.loading is not None:
        load = np.asarray(mk.loading)
        z *= np.sqrt(1.0 - load * load)
        z += load * rng.standard_normal((n, 1))
    if mix.shared_nu is not None:
        w = np.broadcast_to(rng.standard_gamma(mix.shared_nu / 2.0, size=(n, 1)), (n, k))  # χ²_ν / 2
    else:
        assert mix.log_q is not None and mix.column is not None
        h = _MIX_GRID[1] - _MIX_GRID[0]
        pos = np.clip((rng.standard_normal(n) - _MIX_GRID[0]) / h, 0.0, _MIX_GRID.size - 1.0)
        i = np.minimum(pos.astype(np.intp), _MIX_GRID.size - 2)
        f = (pos - i)[:, None]
        w = np.exp(mix.log_q[i] * (1.0 - f) + mix.log_q[i + 1] * f)[:, mix.column]
    z *= np.sqrt((mk.nu - 2.0) / (2.0 * w))  # ((ν − 2)/ν) / (χ²_ν/ν)
    return z


def _simulate(
    mk: McMarket, mix: _Mixing, book: McBook, horizon_s: float, step_s: float, n: int,
    rng: np.random.Generator,
) -> Generator[None, None, tuple[FloatArray, npt.NDArray[np.bool_]]]:  # fmt: skip
    """`n` paths, one step per resumption (so a run can be paused between steps); returns PnL, touches.

    Pausing changes nothing drawn: the generator is the only user of `rng` until it returns.
    """
    steps = max(1, round(horizon_s / step_s))
    k = mk.spot.size
    used, pos_col = np.unique(book.perp_asset, return_inverse=True)  # assets that carry perps
    net_perp = np.bincount(pos_col, weights=book.perp_q, minlength=used.size)
    theta, mu, b0 = mk.ou_theta[used], mk.ou_mu[used], mk.basis[used]
    a = np.exp(-theta * step_s)
    with quiet():
        ou_sd = np.where(theta > 0, mk.ou_sigma[used] * np.sqrt((1 - a * a) / (2 * theta)),
                         mk.ou_sigma[used] * math.sqrt(step_s))  # fmt: skip
    spot = np.broadcast_to(mk.spot, (n, k)).copy()
    s2 = np.broadcast_to(mk.sigma2, (n, k)).copy()
    basis = np.broadcast_to(b0, (n, used.size)).copy()
    perp0 = mk.spot[used] - b0
    perp = np.broadcast_to(perp0, (n, used.size)).copy()
    lo, hi = perp.copy(), perp.copy()
    hist = mk.funding_history[:, used]
    row0 = rng.integers(0, hist.shape[0], size=n)
    interval_s = mk.funding_interval_h[used] * 3_600.0
    funding = np.zeros(n)
    for i in range(steps):
        r = _innovations(mk, mix, n, rng)
        r *= np.sqrt(s2)
        s2 *= mk.beta
        s2 += mk.omega
        s2 += mk.alpha * (r * r)
        spot *= np.exp(r)
        basis -= mu
        basis *= a
        basis += mu + ou_sd * rng.standard_normal((n, used.size))
        np.subtract(spot[:, used] if used.size != k else spot, basis, out=perp)
        np.minimum(lo, perp, out=lo)
        np.maximum(hi, perp, out=hi)
        # funding settles when a whole interval has elapsed; the rate is read forward from row0
        done_before = np.floor(i * step_s / interval_s)
        settle = np.flatnonzero(np.floor((i + 1) * step_s / interval_s) > done_before)
        if settle.size:
            rows = (row0[:, None] + done_before[settle].astype(np.intp)) % hist.shape[0]
            rate = np.take_along_axis(hist[:, settle], rows, axis=0)
            funding -= (perp[:, settle] * rate) @ net_perp[settle]
        yield
    pnl = (spot - mk.spot) @ book.spot_q + (perp - perp0) @ net_perp + funding
    touched = ((book.perp_q > 0) & (lo[:, pos_col] <= book.perp_lp)) | (
        (book.perp_q < 0) & (hi[:, pos_col] >= book.perp_lp)
    )
    return pnl, touched
