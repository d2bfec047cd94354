"""Why a risk figure is missing (NaN) or needs a caveat: one closed set of codes for all of `risk/`.

A risk desk must be able to tell "no number" from "a number": every function that can meet bad
input returns NaN rather than raising (an exception would stop the evaluation tick for every
other position) and, where the caller needs to know why, a `Reason` beside it. Vectorised
functions return an `int8` array of these codes, one per element; scalar ones put a `reason`
field on their frozen result struct.

Codes below `WARNINGS_FROM` mean the value is NaN. Codes from `WARNINGS_FROM` on come with a
real value that needs a caveat (e.g. the account is already past liquidation).
"""

from __future__ import annotations

import enum

import numpy as np
import numpy.typing as npt

__all__ = ["WARNINGS_FROM", "Reason", "ReasonArray", "has_value", "reason_names"]

ReasonArray = npt.NDArray[np.int8]


class Reason(enum.IntEnum):
    """One code per way a figure can fail; `name.lower()` is the label used in metrics."""

    OK = 0
    NAN_INPUT = 1  # an input was NaN or infinite
    NON_POSITIVE_PRICE = 2  # a price (mark, entry, spot, level) was ≤ 0
    EMPTY_HISTORY = 3  # too few observations for the estimate
    ZERO_VOLATILITY = 4  # σ = 0: sigma distances and z-scores are undefined
    MISSING_TIER = 5  # no maintenance-margin bracket covers the notional (or no table)
    NOT_LIQUIDATABLE = 6  # LP ≤ 0: the position cannot be liquidated by a price move
    NOT_MEAN_REVERTING = 7  # OU fit with b outside (0, 1)
    NO_POSITION = 8  # zero quantity: nothing to liquidate / hedge
    BAD_PARAMETER = 9  # a parameter outside its domain (α ∉ (0,1), interval ≤ 0, λ ∉ (0,1))
    FIT_FAILED = 10  # the optimiser failed or produced non-finite parameters
    INSUFFICIENT_DEPTH = 11  # the visible book cannot fill the quantity
    ALWAYS_LIQUIDATABLE = 12  # equity < MM at every positive price: past liquidation whatever the price
    # --- warnings: a value is present ---
    PAST_LIQUIDATION = 64  # margin ratio ≥ 100 % already at the mark
    TIER_BOUNDARY = 65  # brackets with an inconsistent cum: liquidation sits on a tier boundary
    NON_STATIONARY = 66  # GARCH α + β ≥ 1: forecasts do not revert to a long-run level
    NOT_CONVERGED = 67  # the optimiser stopped before converging; parameters are its last iterate


WARNINGS_FROM = 64


def has_value(reason: int) -> bool:
    """Tell whether a figure with this reason carries a number (OK or a warning)."""
    return reason == Reason.OK or reason >= WARNINGS_FROM


def reason_names(codes: ReasonArray) -> list[str]:
    """Turn a code array into metric labels, for logs and `/debug/state`."""
    return [Reason(int(c)).name.lower() for c in codes]
