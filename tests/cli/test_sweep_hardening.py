"""``markov-icl sweep`` against hostile sweep files and faults: everything the file says is checked against the
kind's command before any cell runs; results stay readable whatever a cell returns and whatever happened to
the file; every write is checked; one sweep per folder; workers and Ray's processes die with the driver;
an unreachable cluster is one line within the connect timeout.

Oracles: the command's own parser (what it accepts on the command line), the exact values of the same cells
computed in this process (``run_cell``, ``solve``), the row count per cell, files and processes on disk and in
``/proc`` (nothing outside ``--out``, no process left), and byte counts of ``results.csv`` before and after a
failed write.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from markov_icl.cli import main
from markov_icl.errors import MarkovICLError
from markov_icl.experiments import sweep

SMALL = 'kind = "objective"\n[grid]\nn = [3, 4, 5]\n[options]\nd = 1\np = "1/2"\n'


def run_cli(argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


def _rows(out: Path) -> list[dict]:
    with open(Path(out) / "results.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _serial(text: str) -> dict:
    spec = sweep.parse_spec(text)
    return {c.id: sweep.run_cell(spec.kind, spec.figure, c.options, "unused")["values"] for c in sweep.cells(spec)}


@pytest.fixture(scope="module")
def small_serial():
    return _serial(SMALL)


@pytest.fixture(scope="module")
def small_done(tmp_path_factory):
    """A finished SMALL sweep (copied by each test that damages it)."""
    out = tmp_path_factory.mktemp("small") / "out"
    sweep.run_sweep(sweep.parse_spec(SMALL), out, workers=1, progress=False)
    return out


def _complete(out: Path, serial: dict) -> None:
    last = sweep.state(sweep.parse_spec((Path(out) / "sweep.toml").read_text()), out)
    assert sorted(last) == sorted(serial) and all(r["status"] == "ok" for r in last.values())
    for cell, r in last.items():
        assert sweep.values_of(out, r) == serial[cell]


# ----------------------------------------------------------------------------- the sweep file, before any cell

OBJ = 'kind = "objective"\n'
REFUSED = {
    "an option no command takes": (OBJ + "[grid]\nd = [1]\n[options]\nfoo = 1", "not an option of markov-icl objective"),
    "an abbreviation of --help": (OBJ + "[grid]\nd = [1]\n[options]\nhe = true", "spelled in full"),
    "an abbreviation of --full": (OBJ + "[grid]\nd = [1]\n[options]\nful = true", "spelled in full"),
    "a reserved option (json)": (OBJ + "[grid]\nd = [1]\n[options]\njson = true", "sweep sets those"),
    "a bool where a value is expected": (OBJ + "[grid]\nd = [1]\n[options]\np = true", "takes a value, not true"),
    "a bool in the grid": (OBJ + "[grid]\nd = [true, false]", "takes a value, not true"),
    "a number for a flag": (OBJ + "[grid]\nd = [1]\n[options]\nfull = 3", "is a flag"),
    "a list for a single value": (OBJ + '[grid]\nd = [1]\n[options]\np = ["1/2", "1/3"]', "takes one value"),
    "a string for an integer": (OBJ + '[grid]\nd = ["x"]', "expected an integer"),
    "a float for an integer": (OBJ + "[grid]\nd = [1.5]", "expected an integer"),
    "a value not among the choices": ('kind = "optimum"\n[grid]\nd = [1]\n[options]\nparam = "best"', "must be one of"),
    "a list element of the wrong type": ('kind = "experiment"\nfigure = "fig3"\n[grid]\nseeds = [1]\n[options]\n'
                                         'layers = [1, "x"]', "expected an integer"),
    "a required option missing": (OBJ + "[grid]\nn = [5]", "required: --d"),
    "two exclusive options": ('kind = "verify"\n[grid]\nd = [1]\n[options]\np = "1/2"\nn = 5\nmodel = "dense"\n'
                              'param = "gd"', "not allowed with"),
    "an absolute save path": ('kind = "verify"\n[grid]\nd = [1]\n[options]\np = "1/2"\nn = 5\nsave = "/tmp/x.pt"',
                              "paths are not allowed"),
    "a save path with ..": ('kind = "verify"\n[grid]\nd = [1]\n[options]\np = "1/2"\nn = 5\nsave = "../x.pt"',
                            "paths are not allowed"),
    "a repeated value": (OBJ + "[grid]\nd = [1, 1, 1]", "repeated"),
    "a value repeated as text": (OBJ + '[grid]\nd = [2, "2"]', "repeated"),
    "a huge range": (OBJ + "[grid]\nd = { range = [0, 1000000000000] }", "cells; at most"),
    "ranges whose product is huge": (OBJ + "[grid]\nd = { range = [1, 1000] }\nn = { range = [1, 1000] }",
                                     "cells; at most"),
    "a newline in a value": (OBJ + '[grid]\nd = [1]\n[options]\nkernel = "uni\\nform"', "control character"),
    "nan": (OBJ + "[grid]\nd = [nan]", "not a finite number"),
    "two spellings of one option": (OBJ + "[grid]\nd = [1]\n[options]\nmax-d = 3\nmax_d = 2", "name the same option"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_bad_sweep_file_is_refused_before_any_cell(tmp_path, case):
    text, words = REFUSED[case]
    spec_file = tmp_path / "s.toml"
    spec_file.write_text(text)
    t0 = time.perf_counter()
    status, out, err = run_cli(["sweep", spec_file, "--out", tmp_path / "out", "--workers", "1"])
    assert status == 2 and err.count("\n") == 1 and err.startswith("markov-icl: error: "), err
    assert words in err and "Traceback" not in err
    assert time.perf_counter() - t0 < 5
    assert not (tmp_path / "out").exists()  # nothing ran, nothing was written


def test_check_spec_follows_the_command_parser():
    """What the check accepts, the command line accepts: each kind's options as the sweep writes them."""
    accepted = ['kind = "objective"\n[grid]\nd = [1, 2]\n[options]\nfull = true\nmax-d = 3',
                'kind = "experiment"\nfigure = "fig3"\n[grid]\nlayers = [[1], [1, 2]]\n[options]\nno-plot = true',
                'kind = "verify"\n[grid]\nd = [1]\n[options]\np = "1/2"\nn = 5\nsave = "m.pt"\nparam = "gd"']
    for text in accepted:
        spec = sweep.parse_spec(text)
        sweep.check_spec(spec)
        parser, _ = sweep._command_parser(spec)
        for c in sweep.cells(spec):
            parser.parse_args(sweep.argv(spec, c.options, Path("cells") / c.id))  # no SystemExit


def test_every_option_that_names_a_file_is_confined(tmp_path):
    """The only file-naming options of the sweep kinds are --out (set by the sweep) and PATH_OPTIONS, and a
    verify sweep's save lands in the cell's folder."""
    import argparse

    for kind in sweep.KINDS:
        figures = ["fig2", "fig3", "fig4", "fig5"] if kind == "experiment" else [None]
        for fig in figures:
            spec = sweep.Spec(kind, fig, {"d": [1]}, {})
            parser, prefix = sweep._command_parser(spec)
            for flag, action in sweep._actions(parser, prefix).items():
                text = f"{action.help or ''} {action.metavar or ''}".lower()
                if flag != "--out" and isinstance(action, argparse._StoreAction) and (
                        "file" in text.split() or "folder" in text.split()):
                    assert flag[2:].replace("-", "_") in sweep.PATH_OPTIONS, (kind, fig, flag)
    spec_file = tmp_path / "v.toml"
    spec_file.write_text('kind = "verify"\n[grid]\nd = [1]\n[options]\np = "1/2"\nn = 5\nparam = "gd"\nsteps = 5\n'
                         'batch = 8\nmc-samples = 16\nsave = "model.pt"\n')
    before = set(os.listdir(tmp_path))
    assert run_cli(["sweep", spec_file, "--out", tmp_path / "out", "--workers", "1"])[0] == 0
    cell = sweep.cells(sweep.parse_spec(spec_file.read_text()))[0]
    saved = tmp_path / "out" / "cells" / cell.id / "model.pt"
    assert saved.is_file() and set(os.listdir(tmp_path)) - before == {"out"}
    assert sweep.values_of(tmp_path / "out", _rows(tmp_path / "out")[0])["saved"] == str(saved)


# ----------------------------------------------------------------------------- results: size, damage, writes


def test_cells_of_more_than_a_megabyte_resume_and_report_status(tmp_path):
    """objective --full at d = 6: 1.4 MB of JSON per cell, kept in side files; the rows stay short; --status and
    a resume read them; the values read back are the exact objective (f~* from solve in this process)."""
    from markov_icl.symbolic.solve import solve

    spec_file = tmp_path / "big.toml"
    spec_file.write_text('kind = "objective"\n[grid]\nn = [5, 10]\n[options]\nd = 6\np = "1/2"\nfull = true\n')
    out = tmp_path / "out"
    assert run_cli(["sweep", spec_file, "--out", out, "--workers", "2"])[0] == 0
    rows = _rows(out)
    assert len(rows) == 2 and (out / "results.csv").stat().st_size < 4096
    sizes = [json.loads(r["values"])["bytes"] for r in rows]
    assert min(sizes) > 2**20
    status, text, _ = run_cli(["sweep", "--status", out])
    assert status == 0 and "2 cells: 2 done, 0 failed, 0 not run" in text
    status, text, _ = run_cli(["sweep", spec_file, "--out", out])
    assert status == 0 and "2 skipped" in text and len(_rows(out)) == 2
    for r in rows:
        v = sweep.values_of(out, r)
        assert v["f_tilde_star"] == str(solve(6, "1/2", int(r["n"])).f_tilde_star) and len(v["H"]) == 168
    ref = json.loads(rows[0]["values"])  # a side file that is not the one written: the row is damaged
    (out / ref["$file"]).write_text("{}")
    assert "1 damaged row" in run_cli(["sweep", "--status", out])[1]
    with pytest.raises(MarkovICLError, match="not the values that were written"):
        sweep.values_of(out, rows[0])


def _damage(path: Path, how: str) -> None:
    lines = path.read_bytes().split(b"\n")
    row = lines[2]
    if how == "a torn row in the middle":
        lines[2] = row[: len(row) // 3]
    elif how == "bytes that are not UTF-8":
        lines[2] = b"\xff\xfe" + row[2:]
    elif how == "a line beyond csv's field limit":
        lines[2] = row + b"x" * 300_000
    elif how == "values that are not JSON":
        lines[2] = row.replace(b'{"', b'{{"', 1)
    elif how == "a cell of no grid":
        lines[2] = b"0123456789abcdef" + row[16:]
    elif how == "grid values not its cell's":
        fields = next(csv.reader([row.decode()]))
        fields[1] = "99"
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(fields)
        lines[2] = buf.getvalue().encode()
    elif how == "an extra field":
        lines[2] = row + b",x"
    path.write_bytes(b"\n".join(lines))


DAMAGE = ["a torn row in the middle", "bytes that are not UTF-8", "a line beyond csv's field limit",
          "values that are not JSON", "a cell of no grid", "grid values not its cell's", "an extra field"]


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_row_is_reported_and_never_trusted(tmp_path, small_done, how):
    out = tmp_path / "out"
    shutil.copytree(small_done, out)
    _damage(out / "results.csv", how)
    status, text, err = run_cli(["sweep", "--status", out])
    assert status == 0 and "Traceback" not in err
    assert "3 cells: 2 done, 0 failed, 1 not run" in text and "1 damaged row(s)" in text and "line 3" in text
    found = sweep.scan(sweep.parse_spec(SMALL), out)
    assert len(found.rows) == 2 and len(found.damaged) == 1


@pytest.mark.parametrize("how", ["a torn row in the middle", "bytes that are not UTF-8"])
def test_the_cell_of_a_damaged_row_runs_again(tmp_path, small_done, small_serial, how):
    out = tmp_path / "out"
    shutil.copytree(small_done, out)
    _damage(out / "results.csv", how)
    status, text, _ = run_cli(["sweep", _spec_file(tmp_path), "--out", out, "--workers", "1"])
    assert status == 0 and "1 done now" in text and "2 skipped" in text and "1 damaged row" in text
    _complete(out, small_serial)


def _spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(SMALL)
    return path


def test_a_results_file_of_another_layout_is_one_line(tmp_path, small_done):
    for content, words in [(b"\x00\x01garbage\n", "not a results header"), (b"cell,x,status\n", "not this sweep's")]:
        out = tmp_path / f"out{len(content)}"
        shutil.copytree(small_done, out)
        (out / "results.csv").write_bytes(content)
        status, _, err = run_cli(["sweep", "--status", out])
        assert status == 2 and words in err and err.count("\n") == 1


@pytest.mark.parametrize("fault", ["ENOSPC", "a short write, then ENOSPC"])
def test_a_failed_write_leaves_nothing_half_written(tmp_path, monkeypatch, small_serial, fault):
    """The disk fills up while the second row is appended: the file keeps its size, the sweep stops with one
    line (exit 1), and the same command resumes and completes."""
    calls = {"rows": 0, "full": False}
    real = sweep._write

    def write(fd, data):  # the disk is full from the second row on (after 10 bytes of it, for a short write)
        calls["rows"] += 1
        if calls["full"] or calls["rows"] == 2 and fault == "ENOSPC":
            raise OSError(28, "No space left on device")
        if calls["rows"] == 2:
            calls["full"] = True
            return real(fd, bytes(data[:10]))
        return real(fd, data)

    monkeypatch.setattr(sweep, "_write", write)
    out = tmp_path / "out"
    path = out / "results.csv"
    status, _, err = run_cli(["sweep", _spec_file(tmp_path), "--out", out, "--workers", "1"])
    assert status == 1 and err.count("\n") == 1 and "cannot append a row" in err and "No space" in err
    assert path.read_bytes().endswith(b"\n") and len(_rows(out)) == 1  # header + one whole row
    monkeypatch.setattr(sweep, "_write", real)
    assert run_cli(["sweep", _spec_file(tmp_path), "--out", out, "--workers", "1"])[0] == 0
    _complete(out, small_serial)


# ----------------------------------------------------------------------------- one sweep per folder


def _wait(predicate, timeout=60.0, what=""):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_second_sweep_on_a_folder_in_use_is_refused(tmp_path, small_done):
    out = tmp_path / "out"
    shutil.copytree(small_done, out)
    with sweep.SweepLock(out):  # a sweep in this process
        status, _, err = run_cli(["sweep", _spec_file(tmp_path), "--out", out])
        assert status == 2 and "in use by another sweep" in err and f"pid {os.getpid()}" in err
        assert run_cli(["sweep", "--status", out])[0] == 0  # status reads a folder in use
    (out / "sweep.lock").write_text(json.dumps({"pid": 2**22 + 7, "host": "gone", "started": "then"}))
    assert run_cli(["sweep", _spec_file(tmp_path), "--out", out])[0] == 0  # a stale note is no lock


def _procs_with_cwd(folder: Path) -> list[int]:
    """Processes whose working folder is ``folder`` (how this test finds what a driver it started left)."""
    found = []
    for e in os.listdir("/proc"):
        if e.isdigit() and int(e) != os.getpid():
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{e}/cwd") == str(folder):
                    with open(f"/proc/{e}/stat") as fh:
                        if fh.read().rsplit(")", 1)[1].split()[0] != "Z":  # not a zombie
                            found.append(int(e))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
@pytest.mark.parametrize("backend, sig", [("pool", signal.SIGKILL), ("pool", signal.SIGTERM), ("ray", signal.SIGKILL)])
def test_a_killed_driver_takes_its_workers_and_releases_the_folder(tmp_path, small_serial, backend, sig):
    if backend == "ray":
        pytest.importorskip("ray")
    work = tmp_path / "work"
    work.mkdir()
    pids = tmp_path / "pids"
    pids.mkdir()
    spec_file = _spec_file(tmp_path)
    out = tmp_path / "out"
    env = {**os.environ, "MARKOV_ICL_SWEEP_DELAY": "60", "MARKOV_ICL_SWEEP_PIDS": str(pids), "OMP_NUM_THREADS": "1",
           "RAY_USAGE_STATS_ENABLED": "0"}
    cmd = [sys.executable, "-m", "markov_icl", "sweep", str(spec_file), "--out", str(out), "--workers", "2",
           *(["--ray"] if backend == "ray" else [])]
    driver = subprocess.Popen(cmd, env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(lambda: len(os.listdir(pids)) >= 2, 120, "two workers")
        assert _rows(out) == []  # results.csv (its header) exists before the first cell ends
        status, _, err = run_cli(["sweep", spec_file, "--out", out])
        assert status == 2 and "in use by another sweep" in err
        workers = [int(p) for p in os.listdir(pids)]
        os.kill(driver.pid, sig)  # the driver alone, not its process group
        driver.wait(timeout=30)
        _wait(lambda: not [p for p in workers if os.path.exists(f"/proc/{p}")] and not _procs_with_cwd(work), 30,
              "the workers to die with the driver")
    finally:
        if driver.poll() is None:
            driver.kill()
        for p in _procs_with_cwd(work):  # a failure must not leave processes behind
            with contextlib.suppress(OSError):
                os.kill(p, signal.SIGKILL)
    if sig == signal.SIGKILL and backend == "pool":  # the stale lock does not block the next run
        assert run_cli(["sweep", spec_file, "--out", out, "--workers", "2"])[0] == 0
        _complete(out, small_serial)


# ----------------------------------------------------------------------------- Ray: reaching a cluster


@pytest.mark.parametrize("address, words", [("127.0.0.1:1", "no Ray cluster answers at 127.0.0.1:1"),
                                            ("10.255.255.1:6379", "10.255.255.1:6379"),  # unroutable, or a proxy
                                            ("not an address", "expected HOST:PORT")])
def test_an_unreachable_cluster_is_one_line_within_the_timeout(tmp_path, monkeypatch, address, words):
    pytest.importorskip("ray")
    monkeypatch.setattr(sweep, "CONNECT_TIMEOUT", 2.0)
    t0 = time.perf_counter()
    status, _, err = run_cli(["sweep", _spec_file(tmp_path), "--out", tmp_path / "out", "--address", address])
    assert status == 2 and err.count("\n") == 1 and words in err, err
    assert time.perf_counter() - t0 < 8
    assert not (tmp_path / "out").exists()  # refused before anything was written
