"""Rules: each tick's Figures into alert events (threshold, `for`, hysteresis, repeat, resolve, inhibit)."""

from monitor.rules.engine import RuleEngine
from monitor.rules.inhibit import Inhibitor
from monitor.rules.model import (
    HEARTBEAT_ALERTNAME,
    STARTED_ALERTNAME,
    UNAVAILABLE_ALERTNAME,
    Rule,
    compile_rules,
    fingerprint,
)

__all__ = [
    "HEARTBEAT_ALERTNAME",
    "STARTED_ALERTNAME",
    "UNAVAILABLE_ALERTNAME",
    "Inhibitor",
    "Rule",
    "RuleEngine",
    "compile_rules",
    "fingerprint",
]
