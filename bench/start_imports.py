"""What a production start pays for imports: the daemon with the simulator off, beside the same
daemon plus the simulator it used to import unconditionally (the baseline), in one run.

Each sample is a fresh interpreter that imports `monitor.app`, builds a `Daemon` for a Binance
venue with `simulator` off and exits; the baseline sample also imports `monitor.sim.server`,
`monitor.sim.admin` and `monitor.sim.control` first, as app.py did before the simulator was
imported lazily. Prints the median wall and CPU time (percent of the baseline) and the modules
loaded per path; no asserts.
With `--old DIR`, a third path runs the same script against another checkout's `monitor/` (the
code before this change: it also imported ccxt.pro for every start). Measured on a shared box the
numbers move with the load: compare the paths of one run.

    .venv/bin/python bench/start_imports.py            # 9 samples per path, interleaved
    .venv/bin/python bench/start_imports.py --samples 21 --old ../main
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

BUILD = """
import json, sys
from monitor.app import Daemon
from monitor.config import parse_config
data = {"venues": [{"name": "binance", "symbols": ["BTCUSDT"]}]}
Daemon(*parse_config(data, {}))
mods = [m for m in sys.modules if m.startswith("monitor")]
print(json.dumps({"modules": len(sys.modules), "monitor": len(mods),
                  "sim": sum(m.startswith("monitor.sim") for m in mods)}))
"""
SIM = "import monitor.sim.server, monitor.sim.admin, monitor.sim.control\n"


def cpu_s() -> float:
    use = resource.getrusage(resource.RUSAGE_CHILDREN)
    return use.ru_utime + use.ru_stime


def sample(script: str, root: str | None = None) -> tuple[float, float, dict[str, int]]:
    """Wall and CPU seconds of one start (CPU: less moved by other work on the box), its modules."""
    env = os.environ | ({"PYTHONPATH": root} if root else {})
    t0, c0 = time.perf_counter(), cpu_s()
    cmd = [sys.executable, "-c", script]  # run in `root`: `-c` puts the working directory first on sys.path
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env, cwd=root)
    return time.perf_counter() - t0, cpu_s() - c0, json.loads(done.stdout)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=9)
    p.add_argument("--old", help="a checkout of the code before, timed as a third path")
    args = p.parse_args()
    paths: dict[str, tuple[str, str | None]] = {
        "simulator imported lazily (now)": (BUILD, None),
        "simulator imported at start (before)": (SIM + BUILD, None),
    }
    if args.old:
        paths[f"--old {args.old}"] = (BUILD, os.path.abspath(args.old))
    times: dict[str, list[float]] = {name: [] for name in paths}
    cpu: dict[str, list[float]] = {name: [] for name in paths}
    counts: dict[str, dict[str, int]] = {}
    sample(BUILD)  # warm the file cache once
    for _ in range(args.samples):
        for name, (script, root) in paths.items():  # interleaved: the paths see the same load
            took, used, counts[name] = sample(script, root)
            times[name].append(took)
            cpu[name].append(used)
    before = "simulator imported at start (before)"
    base, base_cpu = statistics.median(times[before]), statistics.median(cpu[before])
    for name, ts in times.items():
        med, med_cpu, c = statistics.median(ts), statistics.median(cpu[name]), counts[name]
        print(
            f"{name:38s} median wall {med * 1e3:6.0f} ms ({med / base:4.0%}), "
            f"CPU {med_cpu * 1e3:6.0f} ms ({med_cpu / base_cpu:4.0%}); "
            f"modules {c['modules']:5d}, monitor.* {c['monitor']:4d}, monitor.sim.* {c['sim']:3d}"
        )


if __name__ == "__main__":
    main()
