"""`sweep --address` on a real multi-node Ray: `ray start --head` and a second `ray start --address` on this machine.

Skipped only if the `ray` command cannot run at all. Each node has one CPU, its own ports (none of Ray's fixed defaults, so it
cannot meet another Ray on the machine) and a token of its own; both are
stopped in teardown, by their process groups, whatever the test did. The
sweep runs as a separate process, as a user would type it, and must give the
leaderboard an in-process sweep gives, with runs on both nodes.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import bootstrap
from actors.research import rowlog
from tests._support.paths import DATA, ROOT

DAYS = [DATA / "klines" / "TRUMPUSDC-1m" / f"TRUMPUSDC-1m-2025-01-{d}.csv" for d in (28, 29)]
RAY = Path(sys.executable).with_name("ray")
START_S = 150.0  # a loaded 2-core machine starts a node in 10 to 30 s
pytestmark = [pytest.mark.skipif(not all(d.exists() for d in DAYS), reason="../shared/data is not beside the checkout"),
              pytest.mark.timeout(420)]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ports(*flags: str) -> list[str]:
    return [x for flag in flags for x in (flag, str(_port()))]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """The node's whole process group (ray start, its raylet, agents and workers), politely then firmly."""
    for sig, wait_s in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(wait_s)
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline:  # the group outlives its leader until every member is gone
                os.killpg(proc.pid, 0)
                time.sleep(0.2)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            pass


@pytest.fixture
def cluster() -> Iterator[tuple[str, dict[str, str]]]:
    try:
        subprocess.run([str(RAY), "--version"], capture_output=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"the ray command cannot run here ({RAY}: {exc})")
    tmp = Path(tempfile.mkdtemp(prefix="rc", dir="/tmp"))  # short: Ray's socket paths must stay under 108 bytes
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32), "TRADER_NO_DOTENV": "1"}
    port = _port()
    node_flags = ["--num-cpus", "1", "--object-store-memory", str(100 * 2**20), "--disable-usage-stats", "--block",
                  "--node-ip-address", "127.0.0.1"]
    agent_ports = ("--node-manager-port", "--object-manager-port", "--metrics-export-port",
                   "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port", "--runtime-env-agent-port")
    head_cmd = [str(RAY), "start", "--head", "--port", str(port), "--temp-dir", str(tmp / "ray"),
                "--include-dashboard", "false", *_ports("--dashboard-port", *agent_ports),
                *node_flags]
    node_cmd = [str(RAY), "start", "--address", f"127.0.0.1:{port}", *_ports(*agent_ports), *node_flags]
    procs: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    cmd_of = {"head": head_cmd, "node": node_cmd}
    try:
        for name, cmd in (("head", head_cmd), ("node", node_cmd)):  # the node waits for the head's GCS itself
            log = tmp / f"{name}.log"
            with log.open("wb") as fh:
                procs.append((name, subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                                     start_new_session=True), log))
        deadline = time.monotonic() + START_S
        waiting = {name for name, _, _ in procs}
        while waiting and time.monotonic() < deadline:
            for name, proc, log in procs:
                text = log.read_text(errors="replace")
                if "Ray runtime started" in text:
                    waiting.discard(name)
                elif proc.poll() is not None:
                    tail = "\n".join(text.splitlines()[-15:])
                    pytest.fail(f"`{' '.join(cmd_of[name][1:4])}` exited {proc.returncode}:\n{tail}")
            time.sleep(0.5)
        if waiting:
            tails = {n: "\n".join(log.read_text(errors="replace").splitlines()[-10:]) for n, _, log in procs}
            pytest.fail(f"{sorted(waiting)} not started within {START_S:.0f} s: {tails}")
        yield f"127.0.0.1:{port}", env
    finally:
        for _, proc, _ in reversed(procs):
            _stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def test_a_sweep_through_a_two_node_cluster_uses_both_and_ranks_as_in_process(
        tmp_path: Path, cluster: tuple[str, dict[str, str]]) -> None:
    address, env = cluster
    data = tmp_path / "data"
    data.mkdir()
    for d in DAYS:
        (data / d.name).write_text("".join(d.read_text().splitlines(keepends=True)[:120]))
    grid = tmp_path / "grid.toml"
    grid.write_text('[grid]\n"trading.min_profit" = ["0.002", "0.004", "0.006"]\n')
    out = tmp_path / "cluster"
    proc = subprocess.run([sys.executable, str(ROOT / "bootstrap.py"), "sweep", "--grid", str(grid), str(data),
                           "--report-dir", str(out), "--address", address, "--no-cache"],
                          cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = list(rowlog.read(out / rowlog.ROWS_FILE))
    assert sorted(r["index"] for r in rows) == list(range(6)) and not any(r["error"] for r in rows)
    assert len({r["node"] for r in rows}) == 2, [r["node"] for r in rows]  # both machines ran runs
    here = tmp_path / "here"
    assert bootstrap.main(["sweep", "--grid", str(grid), str(data), "--report-dir", str(here), "--workers", "1",
                           "--no-cache"]) == 0
    assert json.loads((out / "leaderboard.json").read_text()) == json.loads((here / "leaderboard.json").read_text())
