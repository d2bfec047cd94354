"""The desk-sized run: `perpmon run` on the simulator's generated universe, measured from outside.

It starts the simulator as its own process (`perpmon sim --universe N,P,A --json`: a desk's daemon
does not share its event loop and core with the venue), writes a temporary config — `config.toml`
without `[simulator]`, the Binance venue pointed at that simulator with `symbols = ["*"]`, the
generated accounts with their keys, a free HTTP port, a temporary state dir — starts `perpmon run`
on it as a subprocess (the way a desk runs it), and every `--sample-s` scrapes
`/metrics` and reads `/proc/<pid>`: `perpmon_evaluation_duration_seconds` (the last tick), the
number of series, the scrape's time, the process's CPU share since the previous sample (every
thread: the loop, the refits, the exposition) and RSS. With `--sim-only` it runs `perpmon sim
--universe N,P,A` instead, subscribes every contract's markPrice@1s, bookTicker and depth20 from
this process (as the collector does), and prints the simulator's CPU share and the frames/s it
pushed. `--embedded` runs the simulator inside the daemon instead (`[simulator] universe_*`, as
`make run` would): its CPU, RSS and loop lag then include the simulator's. Nothing is asserted; it
prints the baseline. Note the box's load average beside the
numbers: on a shared machine a starved process shows long ticks at a low CPU share.

    .venv/bin/python bench/universe_run.py                      # 600 × 1,000, 20 accounts, 120 s
    .venv/bin/python bench/universe_run.py --symbols 50 --positions 100 --accounts 5 --seconds 60
    .venv/bin/python bench/universe_run.py --sim-only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from frame_race import _toml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "perpmon"
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_config(tmp: Path, n: int, p: int, a: int, port: int) -> Path:
    text = (ROOT / "config.toml").read_text()
    text = text.replace('state_dir = "var"', f'state_dir = "{tmp / "state"}"', 1)
    text = re.sub(r"(\[http\][^\[]*?port = )\d+", rf"\g<1>{port}", text, count=1, flags=re.S)
    text = text.replace(
        "[simulator]\n",
        f"[simulator]\nuniverse_symbols = {n}\nuniverse_positions = {p}\nuniverse_accounts = {a}\n",
        1,
    )
    text = re.sub(r'symbols = \["BTCUSDT"\]( +# perpetuals to watch)', r'symbols = ["*"]\1', text, count=1)
    path = tmp / "config.toml"
    path.write_text(text)
    return path


def external_config(tmp: Path, sim: dict[str, Any], port: int) -> tuple[Path, dict[str, str]]:
    """`config.toml` on the external simulator's Binance: every symbol, the generated accounts.

    Returns the config and the environment holding the generated accounts' keys (simulator-only).
    """
    data = tomllib.loads((ROOT / "config.toml").read_text())
    data.pop("simulator", None)
    data["state_dir"] = str(tmp / "state")
    data["http"] = {"host": "127.0.0.1", "port": port}
    binance = next(v for v in data["venues"] if v["name"] == "binance")
    binance.update(
        simulator=False,
        rest_url=sim["futures_rest_url"],
        ws_url=sim["futures_ws_url"],
        spot_rest_url=sim["spot_rest_url"],
        spot_ws_url=sim["spot_ws_url"],
        symbols=["*"],
    )
    data["venues"] = [binance]
    env: dict[str, str] = {}
    accounts = [a for a in data["accounts"] if a["venue"] == "binance"]
    listed = {a["name"] for a in sim["accounts"] if "venue" not in a}
    accounts = [a for a in accounts if a["name"] in listed]  # `perpmon sim` knows alice and bob, not hedge
    for a in sim["accounts"]:
        if "venue" in a or not isinstance(a["positions"], int):
            continue  # Bybit's (this run watches Binance only), or a shipped account kept above
        up = a["name"].upper()
        env[f"U_{up}_KEY"], env[f"U_{up}_SECRET"] = a["api_key"], a["api_secret"]
        accounts.append(
            {
                "name": a["name"],
                "venue": "binance",
                "api_key_env": f"U_{up}_KEY",
                "api_secret_env": f"U_{up}_SECRET",
            }
        )
    data["accounts"] = accounts
    path = tmp / "config.toml"
    path.write_text("".join(f"{k} = {_toml(v)}\n" for k, v in data.items()))
    return path, env


def _env_with_sim_keys() -> dict[str, str]:
    env = dict(ENV)
    for line in (ROOT / "deploy" / "simulator.env").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            k, _, v = line.partition("=")
            env[k.strip()] = v.strip()
    return env


def _gauge(body: str, name: str) -> float:
    m = re.search(rf"^{name} (\S+)", body, re.M)
    return float(m.group(1)) if m else float("nan")


class Proc:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.tck = os.sysconf("SC_CLK_TCK")

    def cpu_s(self) -> float:
        f = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / self.tck

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
        return float("nan")


def run_daemon(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="perpmon-universe-"))
    port = _free_port()
    env = _env_with_sim_keys()
    sim_proc: subprocess.Popen[bytes] | None = None
    if args.embedded:
        cfg = write_config(tmp, args.symbols, args.positions, args.accounts, port)
    else:
        sim_proc = subprocess.Popen(
            [str(BIN), "sim", "--universe", f"{args.symbols},{args.positions},{args.accounts}", "--json"],
            stdout=subprocess.PIPE,
            stderr=(tmp / "sim.log").open("w"),
            env=ENV,
        )
        assert sim_proc.stdout is not None
        cfg, keys = external_config(tmp, json.loads(sim_proc.stdout.readline()), port)
        env |= keys
    log = (tmp / "daemon.log").open("w")
    proc = subprocess.Popen(
        [str(BIN), "run", "--config", str(cfg)], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    me = Proc(proc.pid)
    sim_me = Proc(sim_proc.pid) if sim_proc is not None else None
    sim_c0 = sim_me.cpu_s() if sim_me else 0.0
    where = "inside the daemon" if args.embedded else "in its own process"
    print(
        f"{args.symbols} symbols × {args.positions} positions, {args.accounts} accounts, simulator {where};"
        f" log {tmp}/daemon.log"
    )
    t0 = time.monotonic()
    prev: tuple[float, float] | None = None
    ticks: list[float] = []
    shares: list[float] = []
    lags: list[float] = []
    refits: list[float] = []
    rss_at: list[tuple[float, float]] = []  # (s since start, MB) after the warm-up
    try:
        while time.monotonic() - t0 < args.seconds:
            time.sleep(args.sample_s)
            if proc.poll() is not None:
                print("the daemon exited", proc.returncode)
                break
            now, cpu = time.monotonic(), me.cpu_s()
            try:
                start = time.perf_counter()
                url = f"http://127.0.0.1:{port}/metrics"
                body = urllib.request.urlopen(url, timeout=60).read().decode()
                took = time.perf_counter() - start
            except OSError as exc:
                print(f"{now - t0:6.0f} s  scrape failed: {exc}")
                continue
            series = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
            tick = _gauge(body, "perpmon_evaluation_duration_seconds")
            lag = _gauge(body, "perpmon_event_loop_lag_max_seconds")
            refit = _gauge(body, "perpmon_model_cpu_share_ratio")
            skipped = re.search(r"^perpmon_evaluation_skipped_slots_total (\S+)", body, re.M)
            garch = r"^perpmon_volatility_garch_annualized_ratio\{.*\} [0-9.e+-]+$"
            models = len(re.findall(garch, body, re.M))
            var = len(re.findall(r"^perpmon_var_usd\{.*\} [0-9.e+-]+$", body, re.M))
            share = 100 * (cpu - prev[1]) / (now - prev[0]) if prev else float("nan")
            prev = (now, cpu)
            rss = me.rss_mb()
            if now - t0 > args.warmup_s:
                ticks.append(tick)
                shares.append(share)
                lags.append(lag)
                refits.append(refit)
                rss_at.append((now - t0, rss))
            print(
                f"{now - t0:6.0f} s  tick {tick * 1000:7.0f} ms  cpu {share:5.1f} %  "
                f"refits {refit * 100:5.1f} %  "
                f"loop lag max {lag * 1000:6.0f} ms  rss {rss:6.0f} MB  series {series:6d}  "
                f"scrape {took * 1000:6.0f} ms  GARCH fitted {models:4d}  VaR series {var:3d}  skipped slots "
                f"{skipped.group(1) if skipped else '?'}",
                flush=True,
            )
    finally:
        proc.terminate()
        proc.wait(60)
        if sim_proc is not None and sim_me is not None:
            sim_share = 100 * (sim_me.cpu_s() - sim_c0) / (time.monotonic() - t0)
            sim_proc.terminate()
            sim_proc.wait(30)
            print(
                f"simulator process: {sim_share:.1f} % of one core over the run (not in the daemon's figures)"
            )
    if ticks:
        print(
            f"after {args.warmup_s:.0f} s warm-up: tick median {statistics.median(ticks) * 1000:.0f} ms "
            f"(max {max(ticks) * 1000:.0f}), CPU {statistics.fmean(shares):.1f} % of one core "
            f"(refits {statistics.fmean(refits) * 100:.1f} % on their budget); "
            f"loop lag max median {statistics.median(lags) * 1000:.0f} ms (worst {max(lags) * 1000:.0f}); "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
    if len(rss_at) >= 3:
        xs, ys = [t / 3600 for t, _ in rss_at], [r for _, r in rss_at]
        slope = statistics.linear_regression(xs, ys).slope
        print(f"RSS {ys[0]:.0f} → {ys[-1]:.0f} MB after warm-up; least-squares slope {slope:+.2f} MB/h")


async def run_sim(args: argparse.Namespace) -> None:
    proc = subprocess.Popen(  # noqa: ASYNC220 - started before anything runs on the loop
        [str(BIN), "sim", "--universe", f"{args.symbols},{args.positions},{args.accounts}", "--json"],
        stdout=subprocess.PIPE,
        env=ENV,
    )
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    me = Proc(proc.pid)
    kinds = [("market", "@markPrice@1s"), ("public", "@bookTicker"), ("public", "@depth20@500ms")]
    count = {suffix: 0 for _, suffix in kinds}
    try:
        async with aiohttp.ClientSession() as s:
            async with s.get(info["futures_rest_url"] + "/fapi/v1/exchangeInfo") as r:
                symbols = [x["symbol"] for x in (await r.json())["symbols"]]

            async def reader(cat: str, suffix: str, chunk: list[str]) -> None:
                names = "/".join(f"{x.lower()}{suffix}" for x in chunk)
                async with s.ws_connect(f"{info['futures_ws_url']}/{cat}/stream?streams={names}") as c:
                    async for _ in c:
                        count[suffix] += 1

            tasks = [
                asyncio.create_task(reader(cat, suffix, symbols[i : i + 200]))
                for cat, suffix in kinds
                for i in range(0, len(symbols), 200)
            ]
            await asyncio.sleep(10)
            c0, t0, n0 = me.cpu_s(), time.monotonic(), dict(count)
            await asyncio.sleep(args.seconds)
            c1, t1 = me.cpu_s(), time.monotonic()
            for t in tasks:
                t.cancel()
    finally:
        proc.terminate()
        proc.wait(30)
    rate = {k: round((count[k] - n0[k]) / (t1 - t0)) for k in count}
    print(
        f"perpmon sim: {len(symbols)} symbols, CPU {100 * (c1 - c0) / (t1 - t0):.1f} % of one core over "
        f"{t1 - t0:.0f} s, frames/s {rate}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    ap.add_argument("--symbols", type=int, default=600)
    ap.add_argument("--positions", type=int, default=1000)
    ap.add_argument("--accounts", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--sample-s", type=float, default=10.0)
    ap.add_argument("--warmup-s", type=float, default=30.0)
    ap.add_argument("--sim-only", action="store_true")
    ap.add_argument(
        "--embedded", action="store_true", help="the simulator inside the daemon (make run's way)"
    )
    args = ap.parse_args()
    if args.sim_only:
        asyncio.run(run_sim(args))
    else:
        run_daemon(args)


if __name__ == "__main__":
    main()
