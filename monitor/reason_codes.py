"""Why a figure is not available, as one of a fixed set of short codes (for metric labels).

A figure's `reason` is mostly a code already ("missing_tier", "not_fitted_yet"), but some carry
free text after the code ("lagging: newest event 3.1s old (limit 15s)", "stale: binance/mark:X"),
a comma- or semicolon-joined list of notes, or a collector's own words. A Prometheus label must
not: every distinct string is a new series (unbounded cardinality), and free text may say more
than a metric should. So the text is cut at the first ':', ',', '(' or ';', lower-cased,
non-alphanumerics become '_', and the result is kept only if it is a known code; anything else is
"other". A new reason in the evaluator must be added to `EVALUATOR_CODES`:
tests/unit/test_reason_codes.py runs the evaluator over incomplete books and fails on any reason
that would read "other".
"""

from __future__ import annotations

import re

from monitor.risk.reasons import Reason

__all__ = ["CODES", "EVALUATOR_CODES", "OTHER", "reason_code"]

OTHER = "other"

# Codes the evaluation stages write themselves (monitor/evaluation/*), beside the risk library's.
EVALUATOR_CODES = frozenset(
    {
        "not_available",  # FigureSink's default for a NaN without a reason
        "autocorrelation_scaled",
        "book_changed_since_refit",
        "empty_history",
        "estimated_before_settlement",
        "fallback_max",  # var_usd{method="preferred"}: the largest method's value (var_check.py)
        "few_independent_windows",
        "funding_interval_unknown",
        "given",
        "history_missing_leg",
        "lagging",
        "leg_from_venue",  # a leg priced from the venue's account data (no live mark, or no tiers)
        "leg_unpriced",  # a leg neither the mark stream nor the venue's account data prices
        "lp_unknown",
        "mc_over_budget",  # Monte Carlo ran at mc_min_paths, more than the CPU budget leaves it
        "model_stale",  # a slow model older than its CPU budget allows (monitor/evaluation/model_age.py)
        "never_heard",
        "no_correlation",
        "no_funding_estimate",
        "no_holdings",
        "no_mark",
        "no_method_holds",  # var_preferred: no VaR method passes its own backtest (var_check.py)
        "no_perp_book",
        "no_position",
        "no_price",
        "no_settlement_seen",
        "no_spot_history",
        "no_spot_price",
        "no_volatility",
        "not_fitted_yet",
        "opened_since_refit",
        "preferred",  # var_usd{method="preferred"}: the method the self-check prefers (var_check.py)
        "silent",
        "stale",
        "stale_mark",
        "too_few_observations",  # the VaR self-check's p-values before 50 outcomes (var_check.py)
        "venue_shows_none",
        "zero_volatility",
    }
)

_LIBRARY = frozenset(r.name.lower() for r in Reason if r != Reason.OK)
# book_mc prefixes a GARCH fit's own reason: "garch_fit_failed", "garch_empty_history", ...
CODES = EVALUATOR_CODES | _LIBRARY | frozenset(f"garch_{c}" for c in _LIBRARY) | {OTHER}

_CUT = re.compile(r"[:,(;]")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def reason_code(reason: str) -> str:
    """The code of a figure's reason: a member of `CODES` ("" stays "" — nothing to explain)."""
    head = _CUT.split(reason, maxsplit=1)[0]
    code = _NON_WORD.sub("_", head.strip().lower()).strip("_")
    if not code:
        return OTHER if reason.strip() else ""
    return code if code in CODES else OTHER
