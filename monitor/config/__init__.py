"""Typed, closed configuration, checked before anything connects.

`config.toml` is decoded into frozen msgspec structs with unknown keys forbidden and every number
constrained, so a typo or a negative size fails at start with the key path and the reason
(`perpmon check-config` does only that). Secrets are never in the file: it names environment
variables, which are read and wrapped in `Secret`.

The package splits along those jobs: `records` (the typed sections), `checks` (cross-field rules),
`secrets` (the environment), `load` (decode, check, resolve). Import from `monitor.config`.
"""

from __future__ import annotations

from monitor.config.checks import mqtt_tls_context
from monitor.config.environment import Secrets as Secrets
from monitor.config.load import _key_path as _key_path
from monitor.config.load import load_config, parse_config
from monitor.config.records import (
    AccountConfig,
    Config,
    EvaluationConfig,
    HoldingConfig,
    HttpConfig,
    LevelConfig,
    LogConfig,
    MqttConfig,
    ProxyHedgeConfig,
    ReceiverConfig,
    RuleConfig,
    ShardConfig,
    SimAccountConfig,
    SimLimitsConfig,
    SimPositionConfig,
    SimulatorConfig,
    VenueConfig,
)
from monitor.config.records import ApiPermission as ApiPermission
from monitor.errors import ConfigError as ConfigError

__all__ = [
    "AccountConfig",
    "Config",
    "EvaluationConfig",
    "HoldingConfig",
    "HttpConfig",
    "LevelConfig",
    "LogConfig",
    "MqttConfig",
    "ProxyHedgeConfig",
    "ReceiverConfig",
    "RuleConfig",
    "ShardConfig",
    "SimAccountConfig",
    "SimLimitsConfig",
    "SimPositionConfig",
    "SimulatorConfig",
    "VenueConfig",
    "load_config",
    "mqtt_tls_context",
    "parse_config",
]
