"""Risk figures as pure functions: numpy in, numpy/float out; no I/O, no clock, no logging.

Every function here is a formula from `risk-formulas.md` with its worked example as a test in
`tests/unit/risk/`. The evaluator calls them once per tick on whole vectors, so the vectorised
forms take arrays (one element per position or symbol) and never loop in Python.

How bad input is reported (one convention for the whole package):

* Nothing raises on bad *data* (NaN, zero or negative prices, empty histories, zero volatility,
  missing tiers): an exception would stop the tick for every other position.
* Elementwise formulas (`basis_bps`, `annualised_funding`, `maintenance_margin`, …) return NaN
  where the inputs make the figure undefined; a float in gives a float out, an array gives an
  array. NaN inputs propagate.
* Figures whose failure needs an explanation return a frozen result carrying a `reason`
  (`reasons.Reason`): scalar ones a `msgspec.Struct` (`Liquidation`, `OUFit`, `BetaHedge`,
  `GarchParams`, `VaRES`, …), vectorised ones a `NamedTuple` of arrays with an `int8` reason
  array (`LiquidationArrays`). Codes below 64 mean the value is NaN; codes ≥ 64 are warnings
  that come with a value (e.g. PAST_LIQUIDATION).
* Sums over a book are NaN if any term is NaN: a partial sum would look plausible and be wrong.

Programming errors (wrong shapes, wrong types) may still raise: they are bugs, not data.

Modules: reasons, margin, tiers, liquidation, distance, topup, funding, basis, volatility, garch, var,
montecarlo, backtest, hedge, sizing, liquidity, stress. See API.md for signatures.
"""

__all__: list[str] = []
