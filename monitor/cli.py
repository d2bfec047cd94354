"""`perpmon` command line: parse arguments, map failures to exit codes, nothing more.

Exit codes: 0 success, 1 runtime failure, 2 bad configuration (before any connection opens),
141 (128 + SIGPIPE, what a shell reports for `yes | head`) when the reader of stdout went away
(`perpmon what-if BOOK.toml | head -3`): quietly, without a traceback, as any Unix filter does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import msgspec

from monitor import __version__, cli_risk
from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.shard import parse_shard, select_shard

__all__ = ["main"]

EXIT_OK, EXIT_RUNTIME, EXIT_CONFIG = 0, 1, 2
EXIT_PIPE = 128 + 13  # SIGPIPE


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="perpmon", description="Live risk monitor for perpetual futures books.")
    p.add_argument("--version", action="version", version=f"perpmon {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("--config", default="config.toml", help="path to config.toml")
    check = sub.add_parser("check-config", help="validate a config file and exit")
    check.add_argument("--config", default="config.toml", help="path to config.toml")
    for cmd in (run, check):
        cmd.add_argument(
            "--shard",
            help="INDEX/COUNT: watch this shard's accounts (overrides [shard]); "
            "INDEX may be a StatefulSet pod name ending in its ordinal, e.g. perpmon-2/4",
        )
    sim = sub.add_parser("sim", help="run the venue simulator alone (prints its URLs and test keys)")
    sim.add_argument(
        "--scenario",
        default="crash-2021-05-19",
        help="crash-2021-05-19 (default), crash-2020-03-12, crash-2024-08-05, synthetic, shock",
    )
    sim.add_argument(
        "--replay",
        metavar="DIR",
        help="replay your own history: a folder of Binance public-data-archive files (1-minute "
        "perpetual klines, and spot/index/mark klines and funding CSVs where you have them)",
    )
    sim.add_argument("--speed", type=float, default=60.0, help="replay seconds per wall second")
    sim.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    sim.add_argument("--seed", type=int, default=7)
    sim.add_argument("--port", type=int, default=0, help="futures host port (0: any free)")
    sim.add_argument("--spot-port", type=int, default=0)
    sim.add_argument("--admin-port", type=int, default=0)
    sim.add_argument(
        "--universe",
        default="0,0,0",
        metavar="N,P,A",
        help="generated contracts, positions, accounts (README 'A desk-sized world'); default off",
    )
    status = sub.add_parser("status", help="print a running daemon's status page as text")
    status.add_argument("--url", default="http://127.0.0.1:9108", help="the daemon's HTTP address ([http])")
    status.add_argument("--limit", type=int, default=50, help="rows per table (the worst first; 1-10000)")
    status.add_argument(
        "--user", help="basic-auth user; the password from $PERPMON_STATUS_PASSWORD or a prompt"
    )
    status.add_argument("--ca-file", help="CA that signed the daemon's certificate (https)")
    status.add_argument("--cert-file", help="client certificate, when the daemon requires one")
    status.add_argument("--key-file", help="the client certificate's key")
    cli_risk.add_commands(sub)  # what-if, stress, backtest-var
    return p


def _run_sim(args: argparse.Namespace) -> int:
    from monitor.sim.scenarios import SCENARIOS
    from monitor.sim.standalone import run_standalone

    if args.scenario not in SCENARIOS or not args.speed > 0:
        print(f"perpmon: sim needs --speed > 0 and --scenario in {sorted(SCENARIOS)}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        n, p, a = (int(x) for x in args.universe.split(","))
    except ValueError:
        print("perpmon: sim --universe takes N,P,A (three integers)", file=sys.stderr)
        return EXIT_CONFIG
    if args.replay:
        from monitor.sim.archive import ArchiveError, load_user_replay, user_paths

        try:
            user_paths(load_user_replay(args.replay))
        except ArchiveError as e:
            print(f"perpmon: sim --replay: {e}", file=sys.stderr)
            return EXIT_CONFIG
    return asyncio.run(
        run_standalone(
            args.scenario,
            args.speed,
            as_json=args.json,
            seed=args.seed,
            futures_port=args.port,
            spot_port=args.spot_port,
            admin_port=args.admin_port,
            universe=(n, p, a),
            replay=args.replay,
        )
    )


def _detach_stdout() -> None:
    """Point fd 1 at /dev/null so the interpreter's final flush does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # not a real file (captured in-process): nothing left to flush
        pass


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit:  # --help / --version printed: flush here, where a closed pipe can be handled
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _detach_stdout()
        raise
    if args.command == "run":  # the daemon: a broken pipe there is a socket's, a real failure
        return _dispatch(args)
    try:
        code = _dispatch(args)
        sys.stdout.flush()  # a reader that went away shows here, not as a traceback at exit
    except BrokenPipeError:
        _detach_stdout()
        return EXIT_PIPE
    return code


def _dispatch(args: argparse.Namespace) -> int:
    if args.command in cli_risk.COMMANDS:
        return cli_risk.run_command(args)
    if args.command == "sim":
        return _run_sim(args)
    if args.command == "status":
        from monitor.status.client import login_from, run_status

        if not 1 <= args.limit <= 10_000:
            print("perpmon: status --limit takes 1 to 10000", file=sys.stderr)
            return EXIT_CONFIG
        login = login_from(args.user, args.ca_file, args.cert_file, args.key_file)
        return run_status(args.url, args.limit, login)
    try:
        cfg, secrets = load_config(args.config)
        from monitor.validate import validate  # rules compile, receivers build: check-config ⇔ run starts

        validate(cfg, secrets)
        shard = parse_shard(args.shard) if args.shard else None
    except ConfigError as exc:
        print(f"perpmon: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "check-config":
        print(f"perpmon: {args.config} is valid")
        if shard is not None:
            mine = select_shard(msgspec.structs.replace(cfg, shard=shard))
            names = {
                "accounts": [a.name for a in mine.accounts],
                "holdings": [h.name for h in mine.holdings],
                "venues": [v.name for v in mine.venues],
            }
            print(f"perpmon: shard {shard.index}/{shard.count} watches {names}")
        return EXIT_OK
    from monitor.app import run_daemon  # heavy imports only when running

    try:
        return asyncio.run(run_daemon(cfg, secrets, config_path=args.config, shard=shard))
    except ConfigError as exc:
        print(f"perpmon: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_OK
