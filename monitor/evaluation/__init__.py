"""The evaluator's parts: one module per family of figures (feeds, markets, accounts, book)."""
