"""The rule engine and FigureUnavailable guard as they were before the columnar engine (issue 13), verbatim.

They walk `Figures.items` one figure at a time; tests/unit/rules/test_rules_columnar_equal.py feeds
them and monitor/rules the same ticks and requires the same events. Only the imports changed.
"""
