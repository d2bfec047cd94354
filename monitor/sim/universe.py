"""A generated universe: N more contracts and A accounts holding P positions, for desk-sized runs.

`[simulator] universe_symbols = N` lists N contracts beside the four real ones, named
`U0001USDT` … `U<N>USDT` (base `U0001` …: plainly synthetic, so no one mistakes their prices for a
real coin's). Everything about contract i is drawn from `seed` and i alone, so the first 50 of a
600-symbol universe are the 50 of a 50-symbol one, and a daemon restarted on the same config sees
the same world:

* **price level** log-uniform from 10⁻⁴ to 3·10⁴ USDT, with the venue's habits for the filters:
  a tick of about one part in 10⁴ of the price (a power of ten), a quantity step worth a few
  dollars (a power of ten, 0.001 to 1,000), precisions to match;
* **funding** every 8 h (60 %), 4 h (30 %) or 1 h (10 %); 8 h contracts capped at 0.3 % or
  0.75 %, shorter ones at 2 % (the venue moves a coin whose funding sits at its cap to a shorter
  interval); the interest rate pro rata;
* **tiers** one of the real tables (BTCUSDT, ETHUSDT, SOLUSDT in `brackets.py`) with its notional
  floors scaled by 1, ½, ¼, 1/10, 1/20 or 1/50 and its leverages capped at 75×, 50× or 25×; `cum`
  follows the venue's recursion (`build_brackets`), so every table is one the venue could publish;
* **path** the replayed BTCUSDT path, scaled and decorrelated:
  `log last_i(t) = log level_i + β_i · log(P(t)/P(0)) + ε_i(t)`, β_i uniform in [0.7, 1.5] and
  ε_i a seeded Gaussian walk on a 15 s grid whose step sd makes the correlation of the symbol's
  returns with the base path a chosen ρ_i, uniform in [0.3, 0.9]:
  `sd_ε(t) = β_i · sd_P(t) · √(1/ρ_i² − 1)` (sd_P(t): the base path's trailing-hour sd of 5-minute
  returns, per 15 s, so a contract's noise follows the market's regime). The walk
  reverts with a 1 h half-life (an Ornstein–Uhlenbeck process), so over an 8 h replay a contract
  drifts a few % from its β-scaled path instead of wandering off (short-horizon correlation
  stays ρ_i; the reversion only bounds the level).
  Index, moving-average basis and the premium regime are the base path's, carried by the same
  multiplier: a generated contract crashes with its β and its own noise, its premium and its
  crash regime are BTCUSDT's. Its candles before the replay starts (`klines.py`) are the base
  path's past scaled by the level (no decorrelation there: the past is one shared walk).

The multipliers of every generated contract at one replay time are one numpy expression
(`multipliers`), so moving 600 contracts costs about what moving one does.

`universe_accounts = A` accounts `u001` … hold `universe_positions = P` one-way positions, spread
round-robin over the accounts and over distinct generated contracts (P ≤ A × N). Each position's
notional is log-uniform from 2,000 to 200,000 USDT (inside the contract's tiers), long or short at
even odds, cross (80 %) or isolated (20 %), entered within ±3 % of the replay's first mark. Cross
wallets hold the account's cross notional over an effective leverage of 2–6× (one account in five
at 8–12×: nearer its maintenance margin when the crash comes); isolated wallets hold the notional
over a leverage of 2–6× (one position in ten at 60–90 % of 12× or of the most its tier allows,
entered at the first mark: the first to go when its contract moves). A low-ρ contract moves a lot
on a crash replay (its own noise is up to 3× the base path's), so positions do get liquidated.
Keys are derived from the seed and the name (`universe_keys`): simulator-only
credentials, printed by `perpmon sim` like the test accounts', never a secret of a real venue.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from monitor.config import SimAccountConfig, SimPositionConfig
from monitor.sim.brackets import BRACKETS, Bracket, build_brackets, tier_for
from monitor.sim.numfmt import q8
from monitor.sim.premium import IMPACT_CALM, IMPACT_CRASH
from monitor.sim.replay import PricePath
from monitor.sim.symbols import SymbolSpec

__all__ = [
    "Universe",
    "generate_universe",
    "universe_account_names",
    "universe_accounts",
    "universe_keys",
    "universe_symbol",
]

_GRID_S = 15.0  # replay seconds between points of the idiosyncratic walk
_SD_HORIZON_S = 300.0
_SD_WINDOW_S = 3600.0
_IDIO_HALF_LIFE_S = 3600.0  # it reverts, so a long replay does not wander a contract off to 0 or ∞
_LEVEL_LOG10 = (-4.0, math.log10(30_000.0))
_BETA = (0.7, 1.5)
_RHO = (0.3, 0.9)
_SCALES = (1.0, 0.5, 0.25, 0.1, 0.05, 0.02)
_LEVERAGE_CAPS = (75, 50, 25)
_TEMPLATES = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
_ONBOARD_FROM_MS = 1_577_836_800_000  # 2020-01-01


def universe_symbol(i: int) -> str:
    """The i-th generated contract (1-based): U0001USDT …"""
    return f"U{i:04d}USDT"


def _pow10(e: int) -> str:
    """10**e as the venue writes a filter: "0.001", "1", "100"."""
    return f"{10.0**e:.{-e}f}" if e < 0 else str(10**e)


def _rng(seed: int, *what: object) -> np.random.Generator:
    """A generator per (seed, purpose, index): a contract's draws do not depend on N."""
    digest = hashlib.sha256(":".join(map(str, (seed, *what))).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _spec(
    seed: int, i: int, base_price: float
) -> tuple[SymbolSpec, tuple[Bracket, ...], float, float, float]:
    """(spec, tiers, level, β, ρ) of generated contract i."""
    r = _rng(seed, "symbol", i)
    level = 10.0 ** r.uniform(*_LEVEL_LOG10)
    tick_e = math.floor(math.log10(level)) - 4
    step_e = min(3, max(-3, round(math.log10(5.0 / level))))
    hours = int(r.choice([8, 4, 1], p=[0.6, 0.3, 0.1]))
    cap = float(r.choice([0.003, 0.0075])) if hours == 8 else 0.02
    template = BRACKETS[_TEMPLATES[int(r.integers(len(_TEMPLATES)))]]
    scale = float(r.choice(_SCALES))
    lev_cap = int(r.choice(_LEVERAGE_CAPS))
    tiers = build_brackets(
        [b.floor * scale for b in template],
        [b.mmr for b in template],
        [min(b.max_leverage, lev_cap) for b in template],
        template[-1].cap * scale,
    )
    beta = float(r.uniform(*_BETA))
    rho = float(r.uniform(*_RHO))
    name = universe_symbol(i)
    tick, step = _pow10(tick_e), _pow10(step_e)
    ratio = level / base_price
    spec = SymbolSpec(
        symbol=name,
        base=name.removesuffix("USDT"),
        quote="USDT",
        ratio={"E1": ratio, "E2": ratio, "E4": ratio},
        funding_hours=hours,
        funding_cap=cap,
        interest_rate=0.0001 * hours / 8,
        adjusted=hours != 8 or cap != 0.003,
        tick=tick,
        step=step,
        spot_tick=tick,
        spot_step=step,
        liquidation_fee=0.0125 if scale >= 0.25 else 0.015,
        onboard_ms=_ONBOARD_FROM_MS + int(r.integers(0, 5 * 365)) * 86_400_000,
        price_precision=max(0, -tick_e),
        qty_precision=max(0, -step_e),
    )
    return spec, tiers, level, beta, rho


@dataclass(frozen=True, slots=True)
class Universe:
    """The generated contracts and what moves them (see the module docstring)."""

    specs: tuple[SymbolSpec, ...]
    brackets: dict[str, tuple[Bracket, ...]]
    level: npt.NDArray[np.float64]  # the contract's price where the base path starts
    beta: npt.NDArray[np.float64]
    rho: npt.NDArray[np.float64]  # the correlation its returns were drawn to have with the base path
    grid_t: npt.NDArray[np.float64]  # replay seconds (path time) of the walk's points
    idio: npt.NDArray[np.float64]  # (N, len(grid_t)): ε_i on the grid
    base_first: float  # P(0): the base path's first price

    @property
    def index(self) -> dict[str, int]:
        return {s.symbol: k for k, s in enumerate(self.specs)}

    def multipliers(self, t: float, base_last: float) -> npt.NDArray[np.float64]:
        """Each contract's price over the base path's at path time `t` (base price `base_last`)."""
        g = self.grid_t
        x = (t - float(g[0])) / (float(g[1]) - float(g[0])) if len(g) > 1 else 0.0
        j = min(max(int(x), 0), max(len(g) - 2, 0))
        f = min(max(x - j, 0.0), 1.0)
        eps = self.idio[:, j] * (1.0 - f) + self.idio[:, min(j + 1, len(g) - 1)] * f
        log_move = math.log(base_last / self.base_first)
        out: npt.NDArray[np.float64] = (self.level / base_last) * np.exp(self.beta * log_move + eps)
        return out


def _local_sd(path: PricePath, grid: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The base path's return sd per grid step at each grid point: the RMS of its 5-minute returns
    over the trailing hour, scaled to the step. Measured over 5 minutes because the replay walks
    every bar's high and low, a zig-zag a 15 s measure would take for volatility; local so a
    contract's own noise grows with the market's in the crash and calms with it, which keeps the
    correlation near ρ in both regimes."""
    coarse = path.times[0] + np.arange(int(path.duration_s // _SD_HORIZON_S) + 1) * _SD_HORIZON_S
    if len(coarse) < 3:
        return np.zeros(len(grid))
    r2 = np.diff(np.log(np.interp(coarse, path.times, path.prices))) ** 2
    k = max(1, round(_SD_WINDOW_S / _SD_HORIZON_S))
    c = np.concatenate([[0.0], np.cumsum(r2)])
    i = np.arange(1, len(r2) + 1)
    lo = np.maximum(0, i - k)
    rms = np.sqrt((c[i] - c[lo]) / (i - lo)) * math.sqrt(_GRID_S / _SD_HORIZON_S)
    out: npt.NDArray[np.float64] = np.interp(grid, coarse[1:], rms)
    return out


def generate_universe(n: int, seed: int, path: PricePath) -> Universe:
    """N contracts on `path` (the base perp path the replay plays), deterministic from `seed`."""
    base_first = float(path.prices[0])
    drawn = [_spec(seed, i, base_first) for i in range(1, n + 1)]
    grid = path.times[0] + np.arange(int(path.duration_s // _GRID_S) + 1) * _GRID_S
    sd_base = _local_sd(path, grid)
    beta = np.array([d[3] for d in drawn])
    rho = np.array([d[4] for d in drawn])
    shocks = np.zeros((n, len(grid)))
    for k, i in enumerate(range(1, n + 1)):
        scale = beta[k] * math.sqrt(1.0 / rho[k] ** 2 - 1.0)
        shocks[k, 1:] = _rng(seed, "walk", i).standard_normal(len(grid) - 1) * scale * sd_base[1:]
    a = math.exp(-math.log(2) / _IDIO_HALF_LIFE_S * _GRID_S)
    idio = np.zeros((n, len(grid)))
    for j in range(1, len(grid)):  # sequential in time, one vector over the contracts per step
        idio[:, j] = a * idio[:, j - 1] + shocks[:, j]
    return Universe(
        specs=tuple(d[0] for d in drawn),
        brackets={d[0].symbol: d[1] for d in drawn},
        level=np.array([d[2] for d in drawn]),
        beta=beta,
        rho=rho,
        grid_t=grid,
        idio=idio,
        base_first=base_first,
    )


def universe_account_names(a: int) -> list[str]:
    return [f"u{k:03d}" for k in range(1, a + 1)]


def universe_keys(seed: int, name: str) -> tuple[str, str]:
    """(API key, secret) of a generated account: derived, simulator-only, the same every run."""
    h = hashlib.sha256(f"perpmon-universe:{seed}:{name}".encode()).hexdigest()
    return f"{name}-key-{h[:24]}", f"{name}-secret-{h[24:56]}"


def _round_to(x: float, step: str) -> float:
    s = float(step)
    decimals = len(step.partition(".")[2])
    return round(round(x / s) * s, decimals)


def universe_accounts(
    universe: Universe,
    accounts: int,
    positions: int,
    seed: int,
    first_mark: Callable[[str], float],
) -> tuple[SimAccountConfig, ...]:
    """A accounts holding P positions over the generated contracts (see the module docstring)."""
    if accounts <= 0:
        return ()
    n = len(universe.specs)
    if positions > accounts * n:
        raise ValueError(f"{positions} positions need at least {math.ceil(positions / accounts)} symbols")
    names = universe_account_names(accounts)
    held: list[list[SimPositionConfig]] = [[] for _ in names]
    order = [int(k) for k in _rng(seed, "positions").permutation(n)]
    for j in range(positions):
        a = j % accounts
        spec = universe.specs[order[(j // accounts + a * 7) % n]]
        tiers = universe.brackets[spec.symbol]
        r = _rng(seed, "position", j)
        mark = first_mark(spec.symbol)
        notional = min(10.0 ** r.uniform(math.log10(2_000), math.log10(200_000)), tiers[2].floor)
        sign = 1.0 if r.random() < 0.5 else -1.0
        qty = _round_to(notional / mark, spec.step) or float(spec.step)
        entry = mark * (1.0 + r.uniform(-0.03, 0.03))
        isolated = r.random() < 0.2
        near = isolated and r.random() < 0.1
        if near:  # near liquidation: most of the leverage the tier allows, entered at the mark
            entry = mark
        allowed = tier_for(tiers, qty * q8(entry)).max_leverage
        if near:
            leverage = max(1.0, math.floor(min(allowed, 12) * r.uniform(0.6, 0.9)))
        else:
            leverage = float(min(allowed, int(r.integers(2, 7))))
        wallet = qty * entry / leverage if isolated else 0.0
        held[a].append(
            SimPositionConfig(
                symbol=spec.symbol,
                qty=sign * qty,
                entry_price=q8(entry),
                leverage=leverage,
                margin_mode="isolated" if isolated else "cross",
                isolated_wallet=round(wallet, 2),
            )
        )
    out = []
    for a, name in enumerate(names):
        r = _rng(seed, "account", a)
        cross = sum(abs(p.qty) * (p.entry_price or 0.0) for p in held[a] if p.margin_mode == "cross")
        leverage = r.uniform(8.0, 12.0) if a % 5 == 4 else r.uniform(2.0, 6.0)
        out.append(
            SimAccountConfig(
                name=name,
                api_key_env="PERPMON_UNIVERSE_KEY",  # never read: the keys are derived (universe_keys)
                api_secret_env="PERPMON_UNIVERSE_SECRET",
                wallet_usdt=round(max(1_000.0, cross / leverage), 2),
                positions=tuple(held[a]),
            )
        )
    return tuple(out)


def brackets_with(universe: Universe | None) -> Mapping[str, tuple[Bracket, ...]]:
    """The real tables plus the generated ones."""
    return BRACKETS if universe is None else {**BRACKETS, **universe.brackets}


class UniverseFunding:
    """The running funding rate of every generated contract as arrays. Their premium index is the
    base symbol's (a price ratio: the multiplier cancels), so the running averages of
    `funding_path.py` are computed once per interval length on the base series and each contract
    takes its own interval's, interest, clamp and cap (`funding.funding_rate`, vectorised).
    Replay-time settlements are not kept for generated contracts."""

    def __init__(self, specs: tuple[SymbolSpec, ...]) -> None:
        self.hours = np.array([s.funding_hours for s in specs], dtype=np.float64)
        self.h = self.hours * 3600.0
        self.cap = np.array([s.funding_cap for s in specs])
        self.interest = np.array([s.interest_rate for s in specs])
        self.rate = np.zeros(len(specs))
        self.until = self.h.copy()  # seconds (on the replayed day's clock) to each next settlement
        self.intervals, self._which = np.unique(self.h, return_inverse=True)

    def set(self, by_interval: Mapping[float, tuple[float, float]]) -> None:
        """`by_interval[h]` = (premium average, seconds until the interval ends) for interval h (s)."""
        pairs = np.array([by_interval[float(h)] for h in self.intervals]).reshape(-1, 2)
        avg, self.until = pairs[self._which, 0], pairs[self._which, 1]
        scaled = avg * self.hours / 8
        clamp = 0.0005 * self.hours / 8
        rate = scaled + np.clip(self.interest - scaled, -clamp, clamp)
        self.rate = np.asarray(np.round(np.clip(rate, -self.cap, self.cap), 8), dtype=np.float64)


def impact_premiums(
    last: npt.NDArray[np.float64], index: npt.NDArray[np.float64], crash: bool
) -> npt.NDArray[np.float64]:
    """`premium.impact_premium` over arrays."""
    h = IMPACT_CRASH if crash else IMPACT_CALM
    bid, ask = last * (1 - h), last * (1 + h)
    out: npt.NDArray[np.float64] = (np.maximum(0.0, bid - index) - np.maximum(0.0, index - ask)) / index
    return out


def mark_prices(
    index: npt.NDArray[np.float64],
    rate: npt.NDArray[np.float64],
    until_s: npt.NDArray[np.float64],
    interval_s: npt.NDArray[np.float64],
    ma_basis: npt.NDArray[np.float64],
    last: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """`premium.mark_price` (the median rule) over arrays, quantized to 8 decimals."""
    p1 = index * (1 + rate * until_s / interval_s)
    p2 = index + ma_basis
    out = np.round(np.maximum(np.minimum(p1, p2), np.minimum(np.maximum(p1, p2), last)), 8)
    return np.asarray(out, dtype=np.float64)
