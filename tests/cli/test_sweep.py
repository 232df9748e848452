"""``markov-icl sweep``: grids, one row per cell, resume after SIGINT / SIGKILL, a killed worker on Ray and in
the process pool, Ray against the pool.

Oracles: each cell's values against the same command run serially in this process (``run_cell``), the
row count per cell (exactly one ``ok`` row), and the grid written out by hand.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from markov_icl.cli import main
from markov_icl.errors import MarkovICLError
from markov_icl.experiments import sweep

GRID_TOML = """kind = "objective"
[grid]
d = [1, 2]
n = { range = [3, 5] }
[options]
p = "1/2"
"""


def _rows(out):
    with open(Path(out) / "results.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _serial_values():
    spec = sweep.parse_spec(GRID_TOML)
    return {c.id: sweep.run_cell(spec.kind, None, c.options, "unused")["values"] for c in sweep.cells(spec)}


@pytest.fixture(scope="module")
def serial():
    return _serial_values()


def _check_complete(out, serial):
    rows = _rows(out)
    ok = [r for r in rows if r["status"] == "ok"]
    assert sorted(r["cell"] for r in ok) == sorted(serial)  # every cell exactly once
    for r in ok:
        assert json.loads(r["values"]) == serial[r["cell"]]


def test_grid_and_spec_errors():
    spec = sweep.parse_spec(GRID_TOML)
    assert [(c.options["d"], c.options["n"]) for c in sweep.cells(spec)] == [(1, 3), (1, 4), (1, 5), (2, 3), (2, 4),
                                                                             (2, 5)]
    for text, message in [('kind = "train"\n[grid]\nd = [1]', "kind must be one of"),
                          ('kind = "objective"', "at least one option"),
                          ('kind = "objective"\n[grid]\nd = {range = [1]}', "a range is"),
                          ('kind = "objective"\n[grid]\nd = [1]\n[options]\nd = 2', "both in [grid] and [options]"),
                          ('kind = "experiment"\n[grid]\nd = [1]', "needs figure"),
                          ("kind = ", "not valid TOML")]:
        with pytest.raises(MarkovICLError, match=message.replace("[", r"\[").replace("]", r"\]")):
            sweep.parse_spec(text)


def test_pool_run_resume_and_status(tmp_path, serial, capsys):
    spec_file = tmp_path / "s.toml"
    spec_file.write_text(GRID_TOML)
    out = tmp_path / "out"
    assert main(["sweep", str(spec_file), "--out", str(out), "--workers", "2"]) == 0
    _check_complete(out, serial)
    assert "6 done now" in capsys.readouterr().out
    assert main(["sweep", str(spec_file), "--out", str(out)]) == 0  # nothing left: nothing rerun
    assert len(_rows(out)) == 6 and "6 skipped" in capsys.readouterr().out
    assert main(["sweep", "--status", str(out)]) == 0
    assert "6 cells: 6 done, 0 failed, 0 not run" in capsys.readouterr().out
    meta = json.loads((out / "meta.json").read_text())
    assert meta["cells"] == 6 and (out / "sweep.toml").read_text() == GRID_TOML
    spec_file.write_text(GRID_TOML.replace("[3, 5]", "[3, 6]"))  # another sweep in the same folder is refused
    assert main(["sweep", str(spec_file), "--out", str(out)]) == 2


def test_failed_cell_is_recorded_and_rerun(tmp_path):
    spec_file = tmp_path / "s.toml"
    spec_file.write_text('kind = "objective"\n[grid]\nd = [1]\np = ["1/2", "3/2"]\n[options]\nn = 5\n')
    out = tmp_path / "out"
    assert main(["sweep", str(spec_file), "--out", str(out), "--workers", "1"]) == 1
    rows = _rows(out)
    bad = [r for r in rows if r["status"] == "failed"]
    assert len(rows) == 2 and len(bad) == 1
    assert bad[0]["error"] == "markov-icl: error: p must lie in the open interval (0, 1), got 3/2" and bad[0]["p"] == "3/2"
    assert main(["sweep", str(spec_file), "--out", str(out), "--workers", "1"]) == 1  # only the failed cell again
    assert len(_rows(out)) == 3


def _wait_for(path: Path, count: int, timeout: float = 120) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if path.exists() and len(path.read_text().splitlines()) - 1 >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} did not reach {count} rows")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_sweep_resumes_with_the_missing_cells_only(tmp_path, serial, sig):
    spec_file = tmp_path / "s.toml"
    spec_file.write_text(GRID_TOML)
    out = tmp_path / "out"
    env = {**os.environ, "MARKOV_ICL_SWEEP_DELAY": "1.0"}
    cmd = [sys.executable, "-m", "markov_icl", "sweep", str(spec_file), "--out", str(out), "--workers", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    _wait_for(out / "results.csv", 2)
    os.killpg(proc.pid, sig)
    proc.wait(timeout=60)
    before = {r["cell"] for r in _rows(out) if r["status"] == "ok"}
    assert 2 <= len(before) < 6
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{6 - len(before)} done now" in done.stdout
    _check_complete(out, serial)


def _kill_first_worker(pids: Path, stop: threading.Event, killed: list) -> None:
    while not stop.is_set():
        files = sorted(pids.iterdir()) if pids.exists() else []
        if files:
            pid = int(files[0].name)
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            return
        time.sleep(0.02)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["ray", "pool"])
def test_killed_worker_is_retried_and_each_cell_is_computed_once(tmp_path, serial, backend, monkeypatch):
    if backend == "ray":
        pytest.importorskip("ray")
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setenv("MARKOV_ICL_SWEEP_PIDS", str(pids))
    monkeypatch.setenv("MARKOV_ICL_SWEEP_DELAY", "1.5")
    out = tmp_path / "out"
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_first_worker, args=(pids, stop, killed))
    killer.start()
    try:
        report = sweep.run_sweep(sweep.parse_spec(GRID_TOML), out, workers=2, use_ray=backend == "ray", progress=False,
                                 retries=3)
    finally:
        stop.set()
        killer.join()
    assert killed, "no worker was killed"
    assert report.failed == 0 and report.done == 6
    _check_complete(out, serial)
    assert len(_rows(out)) == 6
    assert int(killed[0]) not in {int(r["pid"]) for r in _rows(out)}  # the killed worker finished nothing
    lost = sweep.cell_id(json.loads((pids / str(killed[0])).read_text()))  # the cell it was running
    assert {r["cell"]: r["attempt"] for r in _rows(out)}[lost] == "2"  # the attempt that finished is recorded
    # started twice: that cell alone on Ray; in the pool also the cell beside it (a broken pool stops every worker)
    again = [r["attempt"] for r in _rows(out) if r["attempt"] != "1"]
    assert set(again) == {"2"} and len(again) <= (1 if backend == "ray" else 2)


@pytest.mark.slow
def test_ray_and_pool_give_identical_values(tmp_path, serial):
    pytest.importorskip("ray")
    spec = sweep.parse_spec(GRID_TOML)
    sweep.run_sweep(spec, tmp_path / "ray", workers=2, use_ray=True, progress=False)
    sweep.run_sweep(spec, tmp_path / "pool", workers=2, use_ray=False, progress=False)
    a = {r["cell"]: r["values"] for r in _rows(tmp_path / "ray")}
    b = {r["cell"]: r["values"] for r in _rows(tmp_path / "pool")}
    assert a == b and len(a) == 6
    _check_complete(tmp_path / "ray", serial)


def test_biggest_cells_run_first(tmp_path):
    """The measured growth law orders the cells: with one worker the rows come out largest d first."""
    spec = sweep.parse_spec('kind = "objective"\n[grid]\nd = [1, 2, 3]\n[options]\np = "1/2"\nn = 4\n')
    est = [sweep.estimate_seconds(spec, c.options) for c in sweep.cells(spec)]
    assert est == sorted(est) and est[0] < est[-1]
    sweep.run_sweep(spec, tmp_path / "o", workers=1, progress=False)
    assert [r["d"] for r in _rows(tmp_path / "o")] == ["3", "2", "1"]


def test_shipped_examples_parse():
    root = Path(__file__).resolve().parents[2] / "examples"
    atlas = sweep.parse_spec((root / "atlas.toml").read_text())
    assert atlas.kind == "realize" and len(sweep.cells(atlas)) == 4 * 9 * 9
    fig5 = sweep.parse_spec((root / "fig5_paper.toml").read_text())
    assert fig5.figure == "fig5" and len(sweep.cells(fig5)) == 10
    assert sweep.argv(fig5, sweep.cells(fig5)[0].options, Path("o"))[:3] == ["experiment", "fig5", "--ds=1"]
    for spec in (atlas, fig5):  # what they say is what their commands take
        sweep.check_spec(spec)


def test_realize_sweep_writes_the_atlas(tmp_path, capsys):
    spec_file = tmp_path / "a.toml"
    spec_file.write_text('kind = "realize"\n[grid]\nd = [1]\np = ["1/2"]\nn = [5, 10]\n')
    assert main(["sweep", str(spec_file), "--out", str(tmp_path / "o"), "--workers", "1"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "o" / "atlas.csv")))
    # theory §6: at p = 1/2, X* is not realisable at n = 5 (D = -1/12) and is at n = 10
    assert [(r["n"], r["realizable"]) for r in rows] == [("5", "False"), ("10", "True")]
    assert float(rows[0]["gap"]) == pytest.approx(2.788e-5, rel=1e-3) and float(rows[1]["gap"]) == 0
    assert (tmp_path / "o" / "atlas.png").exists()


def test_same_sweep_with_other_comments_resumes(tmp_path):
    spec_file = tmp_path / "s.toml"
    spec_file.write_text('kind = "objective"\n[grid]\nd = [1]\n[options]\np = "1/2"\nn = 4\n')
    assert main(["sweep", str(spec_file), "--out", str(tmp_path / "o"), "--workers", "1"]) == 0
    spec_file.write_text('# the same sweep, reformatted\nkind = "objective"\n[grid]\nd = [ 1 ]\n[options]\nn = 4\np = "1/2"\n')
    assert main(["sweep", str(spec_file), "--out", str(tmp_path / "o"), "--workers", "1"]) == 0
    assert len(_rows(tmp_path / "o")) == 1
