"""The refit scheduler's bookkeeping, with no I/O and no clock: which job runs next, what it costs,
how many Monte Carlo paths the budget pays for, and how long a round of every job takes.

Kept apart from `refit.py`'s `ModelRefresher` (which owns the threads, snapshots and the published
`RiskModels`) so the pacing rules can be tested on numbers alone; the module docstring of
`monitor/refit.py` says why the refits are cut into jobs and paced at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from monitor.clock import NS_PER_S

__all__ = ["BOOK", "BudgetPlanner", "MarketKey", "path_levels"]

MarketKey = tuple[str, str]
BOOK: MarketKey = ("", "")  # the book job's key beside the markets' (venue, symbol)

HEADROOM = 0.8  # Monte Carlo is sized to this share of what is left, so estimates a bit low still fit
DEFAULT_FIT_S = 0.02  # the cost assumed for a market fit until one is measured
COST_EWMA = 0.3  # weight of the newest measurement in a cost estimate


def path_levels(max_paths: int, floor: int) -> list[int]:
    """The path counts Monte Carlo may run, largest first: max × 2^(−i/2) down to the floor."""
    floor = min(floor, max_paths)
    out: list[int] = []
    i = 0
    while (n := round(max_paths * 2 ** (-i / 2))) > floor:
        out.append(n)
        i += 1
    return [*out, floor]


@dataclass(slots=True)
class _Job:
    done_ns: float = -math.inf  # monotonic time it last finished; -inf: never
    cost_s: float = math.nan  # CPU seconds per run, smoothed


class BudgetPlanner:
    """The scheduler's bookkeeping, with no I/O: which job is next, Monte Carlo's size, the plan's round."""

    def __init__(self) -> None:
        self.jobs: dict[MarketKey, _Job] = {}
        self.mc_cost_per_path_s = math.nan
        self.mc_shape: tuple[int, int, int] = (0, 0, 0)
        self.mc_paths = 0  # the size last chosen
        self.early_book = False

    def sync(self, markets: list[MarketKey]) -> None:
        """The market jobs follow the snapshot's markets; the book job always exists."""
        keep = {*markets, BOOK}
        for k in [k for k in self.jobs if k not in keep]:
            del self.jobs[k]
        for k in keep:
            self.jobs.setdefault(k, _Job())

    def next_job(self, now_ns: int, refit_s: float) -> MarketKey | None:
        """The stalest due job: never run first, markets before the book on a tie, then by due time."""
        refit_ns = refit_s * NS_PER_S
        best: tuple[float, int, MarketKey] | None = None
        for key, job in self.jobs.items():
            due = -math.inf if key == BOOK and self.early_book else job.done_ns + refit_ns
            if due > now_ns:
                continue
            rank = (due, 1 if key == BOOK else 0, key)
            if best is None or rank < best:
                best = rank
        return best[2] if best is not None else None

    def next_due_s(self, now_ns: int, refit_s: float) -> float:
        """Seconds until the next job is due (0 when one is)."""
        due = min((j.done_ns + refit_s * NS_PER_S for j in self.jobs.values()), default=math.inf)
        return max(0.0, (due - now_ns) / NS_PER_S)

    def finished(self, key: MarketKey, now_ns: int, cpu_s: float) -> None:
        job = self.jobs.setdefault(key, _Job())
        job.done_ns = now_ns
        job.cost_s = cpu_s if math.isnan(job.cost_s) else (1 - COST_EWMA) * job.cost_s + COST_EWMA * cpu_s
        if key == BOOK:
            self.early_book = False

    def markets_cost_s(self) -> float:
        """CPU seconds one refit of every market costs (unmeasured ones at the mean of the measured)."""
        costs = [j.cost_s for k, j in self.jobs.items() if k != BOOK]
        known = [c for c in costs if not math.isnan(c)]
        guess = sum(known) / len(known) if known else DEFAULT_FIT_S
        return sum(known) + guess * (len(costs) - len(known))

    def book_prep_cost_s(self) -> float:
        """The book job's cost besides its Monte Carlo paths (the history, the run's preparation)."""
        c = self.jobs.get(BOOK, _Job()).cost_s
        return 0.0 if math.isnan(c) else c

    def mc_measured(self, shape: tuple[int, int, int], paths: int, cpu_s: float) -> None:
        """A chunk of `paths` paths of a book of `shape` cost `cpu_s`: update the cost per path."""
        if paths <= 0:
            return
        per = cpu_s / paths
        if shape != self.mc_shape or math.isnan(self.mc_cost_per_path_s):
            self.mc_shape, self.mc_cost_per_path_s = shape, per
        else:
            self.mc_cost_per_path_s = (1 - COST_EWMA) * self.mc_cost_per_path_s + COST_EWMA * per

    def mc_size(self, budget: float, refit_s: float, max_paths: int, floor: int) -> tuple[int, str]:
        """Paths for the next run and a note ("mc_over_budget" when even the floor does not fit)."""
        share = HEADROOM * budget * refit_s - self.markets_cost_s() - self.book_prep_cost_s()
        per = self.mc_cost_per_path_s if self.mc_cost_per_path_s > 0 else 0.0
        levels = path_levels(max_paths, floor)
        fits = [n for n in levels if n * per <= share]
        if not fits:
            self.mc_paths = levels[-1]
            return self.mc_paths, "mc_over_budget"
        n = fits[0]
        prev = self.mc_paths
        # hysteresis: move up a level only with room to spare, so noise in costs does not flip it
        if prev in levels and prev < n and prev * per <= share and n * per > 0.85 * share:
            n = prev
        self.mc_paths = n
        return n, ""

    def round_s(self, budget: float, refit_s: float) -> float:
        """Wall time one refit of every model takes at the budget (at least refit_s)."""
        per = self.mc_cost_per_path_s if self.mc_cost_per_path_s > 0 else 0.0
        cpu = self.markets_cost_s() + self.book_prep_cost_s() + self.mc_paths * per
        return max(refit_s, cpu / budget)
