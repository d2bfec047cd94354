"""The risk desk's commands: `what-if`, `stress` and `backtest-var` (see `perpmon <command> --help`).

Why a module beside cli.py: these commands compute and print instead of running the daemon, and
each pulls in numpy/scipy/arch; cli.py only registers them and maps failures to the same exit
codes (0 success, 1 runtime failure, 2 bad config or book file, named by key path).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from typing import Any

from monitor import cli_backtest
from monitor.errors import ConfigError

__all__ = ["COMMANDS", "add_commands", "run_command"]

EXIT_OK, EXIT_RUNTIME, EXIT_CONFIG = 0, 1, 2
COMMANDS = ("what-if", "stress", "backtest-var")


def add_commands(sub: Any) -> None:
    """Register the subcommands on cli.py's subparsers."""
    w = sub.add_parser("what-if", help="every figure and the stress table for a hypothetical book file")
    w.add_argument("book", help="BOOK.toml (format: docs/what-if.md; example: examples/book.toml)")
    w.add_argument("--json", action="store_true", help="print JSON instead of tables")
    s = sub.add_parser("stress", help="the stress scenario table, from live state or the default book")
    s.add_argument("--config", default="config.toml", help="path to config.toml")
    s.add_argument(
        "--default-book",
        action="store_true",
        help="the simulator's default book from config.toml (no connection, no keys)",
    )
    s.add_argument("--timeout", type=float, default=30.0, help="live: seconds to wait for a complete book")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    cli_backtest.add_command(sub)


def run_command(args: argparse.Namespace) -> int:
    try:
        if args.command == "what-if":
            return _what_if(args)
        if args.command == "stress":
            return _stress(args)
        return cli_backtest.run(args)
    except ConfigError as exc:
        kind = {"what-if": "book", "backtest-var": "input"}.get(args.command, "config")
        print(f"perpmon: {kind} error: {exc}", file=sys.stderr)
        return EXIT_CONFIG


def _dump(obj: object) -> None:
    print(json.dumps(obj, indent=2, allow_nan=False))


def _what_if(args: argparse.Namespace) -> int:
    from monitor.clock import LiveClock
    from monitor.evaluation.account_bybit import bybit_model_venues
    from monitor.evaluation.stress import stress_table
    from monitor.evaluator import Evaluator
    from monitor.whatif.build import book_config, book_snapshot
    from monitor.whatif.disclose import book_ticks, tick_sources, tier_sources, tier_warnings
    from monitor.whatif.report import figures_json, figures_text, stress_json, stress_text
    from monitor.whatif.schema import load_book, venue_kinds

    book = load_book(args.book)
    tiers, warnings = tier_sources(book), tier_warnings(book)
    _warn(warnings)
    now = LiveClock().now_ns()
    snap = book_snapshot(book, now)
    cfg = book_config(book)
    figures = Evaluator(cfg, started_ns=now).evaluate(snap, now)
    table = stress_table(snap, bybit_model_venues(cfg.venues))  # as the Evaluator decides
    kinds = venue_kinds(book)
    if args.json:
        _dump(
            {
                "book": args.book,
                "venues": kinds,
                "tiers": tiers,
                "ticks": tick_sources(book),
                "warnings": warnings,
                "figures": figures_json(figures),
                "stress": stress_json(table),
            }
        )
    else:
        print(f"perpmon what-if {args.book}: the daemon's evaluator on this book (nothing connected)")
        print("margin model per venue: " + ", ".join(f"{v} {k}" for v, k in kinds.items()))
        _print_tiers(tiers, warnings)
        print("price ticks (prices print at their decimals):")
        for k, v in tick_sources(book).items():
            print(f"  {k}: {v}")
        print("A book has no price history: figures fitted on one (GARCH, OU, VaR) are n/a (not_fitted_yet);")
        print("the volatility-based ones use `volatility` from [[markets]] when given (docs/what-if.md).\n")
        print(figures_text(figures, book_ticks(book)))
        print("\nstress scenarios (risk-formulas §11)\n")
        print(stress_text(table))
    return EXIT_OK


def _warn(warnings: list[str]) -> None:
    """On stderr too when stdout is not a terminal: a warning must not hide in a file or a pipe."""
    if not sys.stdout.isatty():
        for w in warnings:
            print(f"perpmon: {w}", file=sys.stderr)


def _print_tiers(tiers: dict[str, str], warnings: list[str]) -> None:
    print("tier tables:")
    for k, v in tiers.items():
        print(f"  {k}: {v}")
    for w in warnings:
        print(w)


def _stress(args: argparse.Namespace) -> int:
    import os

    from monitor.config import load_config
    from monitor.evaluation.stress import stress_table
    from monitor.whatif.build import book_snapshot
    from monitor.whatif.disclose import (
        snapshot_tier_sources,
        tier_sources,
        tier_warnings,
        uncounted_collateral,
    )
    from monitor.whatif.report import stress_json, stress_text
    from monitor.whatif.sources import PlaceholderEnv, capture_snapshot, simulator_book, simulator_env

    missing: list[str] = []
    left_out: list[str] = []
    generated: list[str] = []
    if args.default_book:
        from monitor.clock import LiveClock

        cfg, _ = load_config(args.config, env=PlaceholderEnv())
        now = LiveClock().now_ns()
        book, left_out = simulator_book(cfg)
        snap = book_snapshot(book, now)
        source = "the simulator's default book"
        tiers = {k: "the simulated venue's table (monitor/sim)" for k in tier_sources(book)}
        warnings = tier_warnings(book)  # none: the default book's venues are the simulator's
    else:
        from monitor.log import configure_logging

        shape, _ = load_config(args.config, env=PlaceholderEnv())
        env, generated = simulator_env(shape, os.environ)
        cfg, secrets = load_config(args.config, env=env)
        configure_logging("warning", cfg.log.format, secrets.all())
        try:
            snap, missing = asyncio.run(capture_snapshot(cfg, secrets, timeout_s=args.timeout))
        except ConfigError:
            raise
        except Exception as exc:  # a venue that refuses us: say so, exit 1 (no traceback)
            print(f"perpmon: stress: no live snapshot: {type(exc).__name__}: {exc}", file=sys.stderr)
            return EXIT_RUNTIME
        source = "live state"
        tiers = snapshot_tier_sources(snap, {v.name for v in cfg.venues if v.simulator})
        warnings = uncounted_collateral(snap)
    _warn(warnings)
    from monitor.evaluation.account_bybit import bybit_model_venues

    entry_valued = bybit_model_venues(cfg.venues)  # as the Evaluator decides
    table = stress_table(snap, entry_valued)
    table = dataclasses.replace(table, notes=(*table.notes, *left_out))
    if args.json:
        _dump(
            {
                "source": source,
                "incomplete": missing,
                "tiers": tiers,
                "warnings": warnings,
                "generated_simulator_keys": generated,
                **stress_json(table),
            }
        )
    else:
        print(f"perpmon stress ({source}, {args.config})")
        if generated:
            print(
                "simulated venues: keys for the embedded simulator's accounts generated for this run "
                f"(not set in the environment): {', '.join(generated)}"
            )
        _print_tiers(tiers, warnings)
        print()
        print(stress_text(table))
        if missing:
            print(f"\nincomplete book after {args.timeout:g} s: {', '.join(missing)}")
    return EXIT_RUNTIME if missing else EXIT_OK
