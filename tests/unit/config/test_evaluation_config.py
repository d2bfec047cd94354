"""The risk-model keys of [evaluation]: defaults, and bad values refused with the key and the reason."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.config import parse_config
from monitor.errors import ConfigError

BASE: dict[str, Any] = {"venues": [{"name": "binance", "symbols": ["BTCUSDT"]}]}


def test_defaults() -> None:
    ev = parse_config(BASE, env={})[0].evaluation
    assert ev.var_confidences == (0.95, 0.99) and ev.var_horizon_s == 86_400.0
    assert ev.shock == 0.2 and ev.target_vol == 0.2 and ev.mc_paths == 10_000 and ev.refit_s == 300.0
    assert ev.model_cpu_budget == 0.25 and ev.mc_min_paths == 1_000  # a quarter of one core
    assert ev.on_frame and ev.frame_coalesce_ms == 2.0 and ev.frame_cpu_share == 0.5  # monitor/frames.py


@pytest.mark.parametrize(
    ("evaluation", "path", "words"),
    [
        ({"var_confidences": []}, "evaluation.var_confidences", "at least one"),
        ({"var_confidences": [0.99, 0.99]}, "evaluation.var_confidences", "duplicate"),
        ({"var_confidences": [1.0]}, "evaluation.var_confidences[0]", ""),
        (
            {"var_horizon_s": 30.0, "volatility_sample_s": 60.0},
            "evaluation.var_horizon_s",
            "volatility_sample_s",
        ),
        ({"shock": 0.0}, "evaluation.shock", ""),
        ({"mc_paths": 10}, "evaluation.mc_paths", ""),
        ({"refit_s": 0.5}, "evaluation.refit_s", ""),
        ({"model_cpu_budget": 0.0}, "evaluation.model_cpu_budget", ""),
        ({"model_cpu_budget": 1.5}, "evaluation.model_cpu_budget", ""),  # one worker thread: one core at most
        ({"mc_min_paths": 10}, "evaluation.mc_min_paths", ""),
        ({"garch_min_obs": 5}, "evaluation.garch_min_obs", ""),
        ({"target_vol": -0.1}, "evaluation.target_vol", ""),
        ({"frame_coalesce_ms": -1.0}, "evaluation.frame_coalesce_ms", ""),
        ({"frame_coalesce_ms": float("nan")}, "evaluation.frame_coalesce_ms", ""),
        ({"frame_coalesce_ms": 5000.0}, "evaluation.frame_coalesce_ms", ""),  # that is the grid's job
        ({"frame_cpu_share": 0.0}, "evaluation.frame_cpu_share", ""),  # would never tick on a frame
        ({"frame_cpu_share": 1.5}, "evaluation.frame_cpu_share", ""),  # one loop: one core at most
        ({"on_frame": "yes"}, "evaluation.on_frame", ""),
    ],
)
def test_bad_values_name_the_key(evaluation: dict[str, Any], path: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({**BASE, "evaluation": evaluation}, env={})
    assert err.value.path == path
    assert words in str(err.value)
