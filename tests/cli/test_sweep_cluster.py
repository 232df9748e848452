"""``markov-icl sweep --address`` on a Ray cluster of two nodes on this machine (a head and one more raylet, both
started with ``ray start``, as docs/commands.md's multi-node recipe does), with the second node killed mid-sweep.

Oracles: each cell's values against the same command run serially in this process (``run_cell``), the row count
per cell (exactly one ``ok`` row), the node id recorded in each row (both nodes ran cells), and the attempt
number of the cell that was running on the killed node (2: its first attempt died with the node).

About a minute on a 2-core machine (two Ray nodes start and stop), so it runs only when asked for:
``MARKOV_ICL_TEST_CLUSTER=1 .venv/bin/python -m pytest -q -m cluster tests/cli/test_sweep_cluster.py``.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from markov_icl.experiments import sweep

pytestmark = [pytest.mark.cluster,
              pytest.mark.skipif(not os.environ.get("MARKOV_ICL_TEST_CLUSTER"),
                                 reason="a two-node Ray cluster (about a minute): set MARKOV_ICL_TEST_CLUSTER=1")]

GRID = """kind = "objective"
[grid]
d = [1, 2]
n = [3, 4, 5, 6]
[options]
p = "1/2"
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ports() -> list[str]:
    """Every port a node opens, chosen free (two raylets on one machine must not share any)."""
    base = _free_port()
    names = ["--node-manager-port", "--object-manager-port", "--dashboard-agent-listen-port",
             "--dashboard-agent-grpc-port", "--runtime-env-agent-port", "--metrics-export-port"]
    args = [x for name in names for x in (name, str(_free_port()))]
    lo = 20000 + base % 20000
    args += ["--min-worker-port", str(lo), "--max-worker-port", str(lo + 40)]
    return args


def _rows(out: Path) -> list[dict]:
    with open(out / "results.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _running(pids: Path, rows: list[dict]) -> set[str]:
    """The cells started (a worker's pid file names its latest cell) and not finished (no row yet)."""
    started = set()
    for f in pids.iterdir():
        with contextlib.suppress(OSError, ValueError):  # a file being written
            started.add(sweep.cell_id(json.loads(f.read_text())))
    return started - {r["cell"] for r in rows}


def test_sweep_on_two_nodes_survives_losing_one(tmp_path):
    ray_bin = Path(sys.executable).with_name("ray")
    if not ray_bin.exists():
        pytest.skip("no ray executable beside this Python")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": "1"}
    temp = tempfile.mkdtemp(prefix="mri-ray-", dir="/tmp")  # short: Ray's socket paths have a length limit
    port = _free_port()
    address = f"127.0.0.1:{port}"
    common = ["--node-ip-address", "127.0.0.1", "--num-cpus", "1", "--memory", str(1 << 30),
              "--object-store-memory", str(100 << 20), "--disable-usage-stats", "--block"]
    head = subprocess.Popen([str(ray_bin), "start", "--head", "--port", str(port), "--temp-dir", temp,
                             "--include-dashboard", "false", *common, *_ports()], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    worker = None
    try:
        t0 = time.time()
        while True:  # the head answers on its port
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert head.poll() is None and time.time() - t0 < 120, "the Ray head did not start"
                time.sleep(0.5)
        worker = subprocess.Popen([str(ray_bin), "start", "--address", address, *common, *_ports()], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        spec_file = tmp_path / "s.toml"
        spec_file.write_text(GRID)
        out = tmp_path / "out"
        pids = tmp_path / "pids"  # each Ray worker names the cell it starts here (run_cell's test hook)
        pids.mkdir()
        driver_env = {**env, "MARKOV_ICL_SWEEP_DELAY": "3", "MARKOV_ICL_SWEEP_PIDS": str(pids)}
        time.sleep(8)  # the second raylet registers with the head
        driver = subprocess.Popen([sys.executable, "-m", "markov_icl", "sweep", str(spec_file), "--out", str(out),
                                   "--address", address, "--retries", "2"], env=driver_env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        killed_at = None
        while driver.poll() is None:  # once both nodes have finished a cell and both run one, the second is killed
            rows = _rows(out) if (out / "results.csv").exists() else []
            if killed_at is None and len({r["node"] for r in rows}) >= 2 and len(_running(pids, rows)) >= 2:
                os.killpg(worker.pid, signal.SIGKILL)  # one CPU a node: two cells in flight = one on each node
                killed_at = len(rows)
            time.sleep(0.1)
        stdout, stderr = driver.communicate()
        assert driver.returncode == 0, stderr[-2000:]
        assert killed_at is not None and killed_at < 8, "the second node was not killed mid-sweep"
    finally:
        for proc in (worker, head):  # each node's processes are in the session of its 'ray start'
            if proc is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        shutil.rmtree(temp, ignore_errors=True)
    spec = sweep.parse_spec(GRID)
    serial = {c.id: sweep.run_cell(spec.kind, None, c.options, "unused")["values"] for c in sweep.cells(spec)}
    rows = _rows(out)
    ok = [r for r in rows if r["status"] == "ok"]
    assert sorted(r["cell"] for r in ok) == sorted(serial) and len(rows) == len(serial)  # each cell once
    for r in ok:
        assert json.loads(r["values"]) == serial[r["cell"]]
    nodes = {r["node"] for r in ok}
    assert len(nodes) == 2 and "local" not in nodes, nodes  # cells ran on both raylets
    assert any(r["attempt"] == "2" for r in ok), [r["attempt"] for r in ok]  # the cell lost with the node
    print(f"\n{len(ok)} cells on nodes {sorted(nodes)}; attempts {[r['attempt'] for r in ok]}; "
          f"killed after {killed_at} rows")
