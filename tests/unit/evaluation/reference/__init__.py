"""The evaluator stages as they were before issue 13 (verbatim), the reference the columnar stages equal."""
