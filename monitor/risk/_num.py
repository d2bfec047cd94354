"""Array helpers shared by `risk/`: one float type, scalar-or-array returns, quiet NaN arithmetic.

Elementwise formulas accept a float or a float64 array as their first argument and return the
same kind, so the evaluator can call them on whole vectors and a notebook on single numbers.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["BoolArray", "FloatArray", "IntArray", "Num", "as_float", "like", "quiet"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
Num = TypeVar("Num", float, FloatArray)


def as_float(x: Any) -> FloatArray:
    """View any number or array-like as float64 (no copy when it already is)."""
    return np.asarray(x, dtype=np.float64)


def like(template: Num, out: Any) -> Num:
    """Return `out` as a float when `template` is a scalar, else as a float64 array."""
    if isinstance(template, np.ndarray):
        return np.asarray(out, dtype=np.float64)
    return float(out)


def quiet() -> Any:
    """Silence numpy's divide/invalid warnings: NaN and inf are the documented outputs."""
    return np.errstate(divide="ignore", invalid="ignore", over="ignore")
