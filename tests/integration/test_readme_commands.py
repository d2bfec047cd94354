"""Every command the README's quick start and risk-desk sections show, as written, on a clean clone.

Why a copy of the tree and an empty environment: a fresh clone has no `var/`, no `.venv` state and
no key exported (only `make run` loads deploy/simulator.env), which is where the stress example
used to fail. The files are the ones git would check out (tracked and not ignored); `perpmon` is
this interpreter's `-m monitor` run in the copy, so the copy's code is the one that runs.
`make run` and `make test` themselves are not run here (a daemon and the whole suite).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("Two commands", "Risk desk commands")
NOT_RUN = {("make", "run"), ("make", "test")}


def readme_commands() -> list[str]:
    """The command lines of the sections' ```sh blocks (comments and continuation notes stripped)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    out: list[str] = []
    for title in SECTIONS:
        m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.S | re.M)
        assert m is not None, f"README has no section {title!r}"
        for block in re.findall(r"```sh\n(.*?)```", m.group(1), re.S):
            for line in block.splitlines():
                cmd = line.split("  #", 1)[0].strip()
                if cmd and not cmd.startswith("#"):
                    out.append(cmd)
    return out


def _clean_clone(dest: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def test_the_readme_lists_the_commands() -> None:
    """The sections exist and show the risk desk's four commands (a renamed section would skip them all)."""
    cmds = readme_commands()
    assert {c.split()[1] for c in cmds if c.startswith("perpmon ")} >= {"what-if", "stress", "backtest-var"}


@pytest.mark.parametrize("command", [c for c in readme_commands() if tuple(c.split()[:2]) not in NOT_RUN])
def test_readme_command_works_as_written(command: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Exit 0 and something on stdout, with no key in the environment and nothing but the clone's files."""
    clone = _clean_clone(tmp_path_factory.mktemp("clone"))
    argv = shlex.split(command)
    assert argv[0] == "perpmon", f"not a perpmon command: {command}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPMON_") and k != "PYTHONPATH"}
    env["OPENBLAS_NUM_THREADS"] = "1"
    res = subprocess.run(
        [sys.executable, "-m", "monitor", *argv[1:]],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert res.returncode == 0, f"{command}: exit {res.returncode}\n{res.stderr[-3000:]}"
    assert len(res.stdout.strip().splitlines()) >= 3, f"{command}: no output\n{res.stderr[-3000:]}"
