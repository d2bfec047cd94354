"""Rules: turn each tick's Figures into alert events (threshold, `for`, hysteresis, repeat, resolve)."""

from monitor.rules.engine import RuleEngine
from monitor.rules.model import HEARTBEAT_ALERTNAME, STARTED_ALERTNAME, Rule, compile_rules, fingerprint

__all__ = ["HEARTBEAT_ALERTNAME", "STARTED_ALERTNAME", "Rule", "RuleEngine", "compile_rules", "fingerprint"]
