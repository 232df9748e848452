"""Sweeps: a grid of independent commands, run on Ray or a local process pool, resumable, nothing lost.

A sweep file (TOML) names a job kind and a grid over its options::

    kind = "realize"                    # objective | realize | optimum | verify | dynamics | experiment
    # figure = "fig5"                   # with kind = "experiment"
    [grid]                              # every combination is one cell (one task)
    d = [1, 2]
    p = ["1/3", "1/2"]
    n = { range = [4, 12, 4] }          # 4, 8, 12: start, stop (inclusive), step
    [options]                           # the same for every cell
    starts = 16

Each cell runs the command of its kind in a worker (the library in-process, as
``markov-icl KIND --opt value ... --json``; kinds that write files get their own
``DIR/cells/CELL/``) and returns its values: the command's JSON (exact values as strings
with float twins) or, for ``experiment`` and ``dynamics``, the files written and the
printed summary. The driver appends **one row per finished cell** to ``DIR/results.csv``
as it finishes, one ``write`` of a whole line on a file opened for appending and then
``fsync``: a row is never rewritten, and a run killed mid-write leaves at most a torn last
line, which the next run cuts off before appending. The schema is fixed: ``cell`` (a hash
of the cell's options), one column per grid key, ``status`` (``ok`` / ``failed``),
``error`` (the one-line message of a failed cell), ``values`` (JSON), ``seconds``, ``host``,
``pid``, ``attempt``, ``finished_at``. Beside it: ``DIR/sweep.toml`` (the sweep file) and
``DIR/meta.json`` (the package version, the grid size).

Re-running the same command resumes: cells with an ``ok`` row are skipped, failed and
missing cells are run (a failed cell's new row is appended after its old one; the last
row of a cell is its state). A cell that raises records its error and the sweep goes on.

Workers: Ray (``--address ADDR`` for an existing cluster, e.g. ``auto`` after ``ray start``
on the nodes; otherwise a local Ray instance started and stopped by the command with K
workers) when the optional ``ray`` package is installed and asked for; otherwise a local
process pool of K workers, with the same results. Every worker uses one torch thread. A
worker process that dies is retried by Ray (``max_retries``) or, in the pool, by running
its cell again; only the attempt that finishes writes a row. Cells are scheduled biggest
first, by each kind's measured growth in ``d`` (:func:`estimate_seconds`).

Examples:
    >>> spec = parse_spec('kind = "objective"\\n[grid]\\nd = [1, 2]\\nn = {range = [5, 10, 5]}\\n[options]\\np = "1/2"')
    >>> [c.options for c in cells(spec)]
    [{'d': 1, 'n': 5, 'p': '1/2'}, {'d': 1, 'n': 10, 'p': '1/2'}, {'d': 2, 'n': 5, 'p': '1/2'}, {'d': 2, 'n': 10, 'p': '1/2'}]
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import json
import os
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from markov_icl.errors import MarkovICLError, shown

try:  # Python 3.11+
    import tomllib
except ImportError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: kind -> (the command's argv prefix, how it reports its values)
KINDS = {
    "objective": (["objective"], "json"),
    "realize": (["realize"], "json"),
    "optimum": (["optimum"], "json"),
    "verify": (["verify"], "json"),
    "dynamics": (["dynamics"], "files"),
    "experiment": (["experiment"], "files"),
}

#: the most cells of one sweep (each is a row of the results and a task)
MAX_CELLS = 100_000

COLUMNS_AFTER = ["status", "error", "values", "seconds", "host", "pid", "attempt", "finished_at"]


@dataclass(frozen=True)
class Spec:
    """A parsed sweep file."""

    kind: str
    figure: str | None
    grid: dict
    options: dict
    text: str = field(repr=False, default="", compare=False)


def _values(key: str, v) -> list:
    if isinstance(v, dict):
        if set(v) != {"range"} or not isinstance(v["range"], list) or len(v["range"]) not in (2, 3) or not all(
                isinstance(x, int) and not isinstance(x, bool) for x in v["range"]):
            raise MarkovICLError(f"sweep grid {key}: a range is {{range = [start, stop]}} or {{range = [start, stop, "
                                 f"step]}} of integers (stop included), got {shown(v)}")
        start, stop, *rest = v["range"]
        step = rest[0] if rest else 1
        if step <= 0:
            raise MarkovICLError(f"sweep grid {key}: the range step must be a positive integer, got {step}")
        vals = list(range(start, stop + 1, step))
    elif isinstance(v, list):
        vals = v
    else:
        vals = [v]
    if not vals:
        raise MarkovICLError(f"sweep grid {key}: no values")
    for x in vals:
        if not isinstance(x, (int, float, str, bool)):
            raise MarkovICLError(f"sweep grid {key}: values must be numbers, strings or booleans, got {shown(x)}")
    return vals


def parse_spec(text: str) -> Spec:
    """Parse and check a sweep file's text (nothing in it is executed: TOML is data).

    Raises:
        MarkovICLError: one line naming what is wrong and what is allowed.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MarkovICLError(f"the sweep file is not valid TOML: {exc}") from None
    unknown = set(data) - {"kind", "figure", "grid", "options"}
    if unknown:
        raise MarkovICLError(f"sweep file: unknown keys {sorted(unknown)}; allowed: kind, figure, grid, options")
    kind = data.get("kind")
    if kind not in KINDS:
        raise MarkovICLError(f"sweep file: kind must be one of {', '.join(KINDS)}, got {shown(kind)}")
    figure = data.get("figure")
    if kind == "experiment":
        from markov_icl.experiments import EXPERIMENTS

        if figure not in EXPERIMENTS:
            raise MarkovICLError(f"sweep file: kind = \"experiment\" needs figure = one of {', '.join(EXPERIMENTS)}, "
                                 f"got {shown(figure)}")
    elif figure is not None:
        raise MarkovICLError("sweep file: figure applies only to kind = \"experiment\"")
    grid = data.get("grid", {})
    options = data.get("options", {})
    if not isinstance(grid, dict) or not grid:
        raise MarkovICLError("sweep file: [grid] must name at least one option with its values")
    if not isinstance(options, dict):
        raise MarkovICLError("sweep file: [options] must be a table of option = value")
    both = set(grid) & set(options)
    if both:
        raise MarkovICLError(f"sweep file: {sorted(both)} are both in [grid] and [options]")
    for key in (*grid, *options):
        if not key.replace("_", "").replace("-", "").isalnum() or key in ("out", "json", "help"):
            raise MarkovICLError(f"sweep file: {shown(key)} is not an option name a sweep may set")
    parsed = {k: _values(k, v) for k, v in grid.items()}
    size = 1
    for v in parsed.values():
        size *= len(v)
    if size > MAX_CELLS:
        raise MarkovICLError(f"sweep file: the grid has {size} cells; at most {MAX_CELLS}")
    for k, v in options.items():
        if isinstance(v, dict):
            raise MarkovICLError(f"sweep file: option {k} must be a value or a list of values, got a table")
    return Spec(kind, figure, parsed, dict(options), text)


@dataclass(frozen=True)
class Cell:
    """One task: the options of one grid point (grid keys first, then the fixed options)."""

    id: str
    grid: dict
    options: dict


def cell_id(options: dict) -> str:
    """A stable name of a cell: the first 16 hex digits of the SHA-256 of its options' canonical JSON."""
    return hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:16]


def cells(spec: Spec) -> list[Cell]:
    """Every cell of the grid, in the grid's order."""
    keys = list(spec.grid)
    out = []
    for combo in itertools.product(*(spec.grid[k] for k in keys)):
        g = dict(zip(keys, combo))
        opts = {**g, **spec.options}
        out.append(Cell(cell_id(opts), g, opts))
    return out


def argv(spec: Spec, options: dict, out: Path | None) -> list[str]:
    """The command line of one cell."""
    prefix, report = KINDS[spec.kind]
    args = list(prefix) + ([spec.figure] if spec.kind == "experiment" else [])
    for k, v in options.items():
        flag = "--" + k.replace("_", "-")
        if isinstance(v, bool):
            if v:
                args.append(flag)
            continue
        args.append(flag)
        args.extend(str(x) for x in v) if isinstance(v, list) else args.append(str(v))
    if report == "json":
        args.append("--json")
    else:
        args += ["--out", str(out)]
    return args


def estimate_seconds(spec: Spec, options: dict) -> float:
    """A cell's expected seconds from the measured growth in d of its kind's exact path: ``realize`` by
    :data:`~markov_icl.limits.REALIZE_SECONDS`, the others by the objective's
    (:data:`~markov_icl.limits.SOLVE_SECONDS_SMALL_D`, :data:`~markov_icl.limits.OBJECTIVE_SECONDS`), each
    extrapolated by its last growth factor; training kinds add their steps."""
    from markov_icl.limits import OBJECTIVE_SECONDS, REALIZE_SECONDS, SOLVE_SECONDS_SMALL_D, estimated_seconds

    d = options.get("d", options.get("ds", 1))
    try:
        d = max(int(x) for x in str(d).replace("-", ",").split(",") if x.strip())
    except ValueError:
        d = 1
    d = max(1, min(d, 20))
    table = REALIZE_SECONDS if spec.kind == "realize" else {**SOLVE_SECONDS_SMALL_D, **OBJECTIVE_SECONDS}
    base = estimated_seconds(d, table)
    steps = options.get("steps", 1000 if options.get("paper") else 0)
    if spec.kind in ("verify", "dynamics", "experiment") and isinstance(steps, int):
        base += steps * 1e-3 * d
    return float(base)


def run_cell(spec_kind: str, figure: str | None, options: dict, cell_dir: str) -> dict:
    """Run one cell in this process; returns ``{"status", "error", "values", "seconds", "host", "pid"}``.

    Test hooks (environment): ``MARKOV_ICL_SWEEP_DELAY`` seconds of sleep before the work, and
    ``MARKOV_ICL_SWEEP_PIDS`` a folder where the worker writes ``PID`` (to be killed by a test).
    """
    import torch

    from markov_icl.cli import main

    torch.set_num_threads(1)
    if os.environ.get("MARKOV_ICL_SWEEP_PIDS"):
        Path(os.environ["MARKOV_ICL_SWEEP_PIDS"], str(os.getpid())).write_text(json.dumps(options))
    if os.environ.get("MARKOV_ICL_SWEEP_DELAY"):
        time.sleep(float(os.environ["MARKOV_ICL_SWEEP_DELAY"]))
    spec = Spec(spec_kind, figure, {}, {})
    out = Path(cell_dir)
    args = argv(spec, options, out)
    stdout, stderr = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(args)
    except Exception as exc:  # noqa: BLE001 - a cell that raises is recorded, the sweep goes on
        code, err = 1, f"{type(exc).__name__}: {exc}"
    else:
        err = stderr.getvalue().strip().splitlines()[-1] if code else ""
    seconds = time.perf_counter() - t0
    values: dict = {}
    if code == 0:
        if KINDS[spec_kind][1] == "json":
            values = json.loads(stdout.getvalue())
        else:
            values = {"summary": stdout.getvalue().strip(),
                      "files": sorted(str(p.relative_to(out.parent.parent)) for p in out.rglob("*") if p.is_file())}
    return {"status": "ok" if code == 0 else "failed", "error": err.replace("\n", " ")[:500], "values": values,
            "seconds": seconds, "host": socket.gethostname(), "pid": os.getpid()}


# ---- results --------------------------------------------------------------------------------------


def results_path(out: Path) -> Path:
    return Path(out) / "results.csv"


def read_results(out: Path, columns: list[str]) -> list[dict]:
    """The rows of ``results.csv`` (a torn last line, from a run killed mid-write, is left out)."""
    path = results_path(out)
    if not path.exists():
        return []
    raw = path.read_bytes()
    if raw and not raw.endswith(b"\n"):
        raw = raw[: raw.rfind(b"\n") + 1]
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    if rows and list(rows[0]) != columns:
        raise MarkovICLError(f"{path}: its columns are not this sweep's; use another --out")
    return rows


def _repair_tail(path: Path) -> None:
    """Cut a torn last line (no newline) off ``path``: the one change ever made to a written byte."""
    if not path.exists():
        return
    raw = path.read_bytes()
    if raw and not raw.endswith(b"\n"):
        with open(path, "r+b") as fh:
            fh.truncate(raw.rfind(b"\n") + 1)


def _append_row(path: Path, columns: list[str], row: dict) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    if not path.exists() or path.stat().st_size == 0:
        w.writeheader()
    w.writerow(row)
    data = buf.getvalue().encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def columns_of(spec: Spec) -> list[str]:
    return ["cell", *spec.grid, *COLUMNS_AFTER]


def state(spec: Spec, out: Path) -> dict[str, dict]:
    """The last row of every cell that has one."""
    last = {}
    for r in read_results(out, columns_of(spec)):
        last[r["cell"]] = r
    return last


def prepare(spec: Spec, out: Path) -> None:
    """Create ``out`` with the sweep file and ``meta.json``, or check that it holds this very sweep."""
    from markov_icl import __version__
    from markov_icl.io import atomic_write_bytes, check_out_dir

    out = check_out_dir(out)
    stored = out / "sweep.toml"
    if stored.exists():
        if parse_spec(stored.read_text()) != parse_spec(spec.text):
            raise MarkovICLError(f"{out} holds a different sweep ({stored}); use another --out")
        return
    atomic_write_bytes(stored, spec.text.encode())
    meta = {"version": __version__, "kind": spec.kind, "figure": spec.figure, "cells": len(cells(spec)),
            "python": sys.version.split()[0], "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    atomic_write_bytes(out / "meta.json", (json.dumps(meta, indent=2) + "\n").encode())


@dataclass
class SweepReport:
    """What a run did: counts, wall time, per-cell seconds."""

    total: int
    done: int
    failed: int
    skipped: int
    wall: float
    seconds: list[float]
    backend: str

    def text(self) -> str:
        import numpy as np

        s = np.array(self.seconds) if self.seconds else np.zeros(1)
        pct = ", ".join(f"p{q} {np.percentile(s, q):.2f} s" for q in (50, 90, 100)) if self.seconds else "-"
        return (f"sweep: {self.total} cells: {self.done} done now, {self.failed} failed, {self.skipped} skipped "
                f"(finished before); {self.wall:.1f} s wall on {self.backend}; per cell {pct}")


def run_sweep(spec: Spec, out: Path, workers: int = 2, address: str | None = None, use_ray: bool | None = None,
              progress: bool = True, retries: int = 2) -> SweepReport:
    """Run the cells of ``spec`` not yet finished in ``out`` (module docstring); returns the report. ``progress``:
    report progress (:class:`~markov_icl.progress.Progress`: a start line with the estimated wall time, a bar on a
    terminal, a line every 30 s in a log)."""
    from markov_icl.progress import Progress

    out = Path(out)
    prepare(spec, out)
    path = results_path(out)
    _repair_tail(path)
    columns = columns_of(spec)
    last = state(spec, out)
    todo = [c for c in cells(spec) if last.get(c.id, {}).get("status") != "ok"]
    skipped = len(cells(spec)) - len(todo)
    todo.sort(key=lambda c: -estimate_seconds(spec, c.options))
    attempts = {c.id: int(last.get(c.id, {}).get("attempt") or 0) for c in todo}
    estimate = sum(estimate_seconds(spec, c.options) for c in todo) / max(1, min(workers, len(todo) or 1))
    bar = Progress("sweep", len(todo), unit="cell", estimate=estimate, enabled=progress,
                   what=f"{len(todo)} cells to run ({skipped} finished before) on {workers} workers")
    t0 = time.perf_counter()
    seconds: list[float] = []
    done = failed = 0

    def record(cell: Cell, res: dict) -> None:
        nonlocal done, failed
        attempts[cell.id] += 1
        row = {"cell": cell.id, **{k: cell.grid[k] for k in spec.grid}, "status": res["status"], "error": res["error"],
               "values": json.dumps(res["values"], sort_keys=True), "seconds": f"{res['seconds']:.6f}",
               "host": res["host"], "pid": res["pid"], "attempt": attempts[cell.id],
               "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        _append_row(path, columns, row)
        seconds.append(res["seconds"])
        done += res["status"] == "ok"
        failed += res["status"] != "ok"
        bar.update(1)

    ray_wanted = use_ray if use_ray is not None else address is not None
    backend = "ray" if ray_wanted else "process pool"
    if ray_wanted:
        _run_ray(spec, todo, out, workers, address, retries, record)
        backend = f"ray ({address or f'local, {workers} workers'})"
    else:
        _run_pool(spec, todo, out, workers, retries, record)
        backend = f"process pool, {workers} workers"
    bar.close()
    return SweepReport(len(cells(spec)), done, failed, skipped, time.perf_counter() - t0, seconds, backend)


def _cell_dir(out: Path, cell: Cell) -> str:
    return str(Path(out) / "cells" / cell.id)


def _ignore_sigint() -> None:
    """Pool workers leave SIGINT to the driver, which stops them (a Ctrl-C is one interruption, not K tracebacks)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_pool(spec, todo, out, workers, retries, record) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    pending = list(todo)
    tries = {c.id: 0 for c in todo}
    while pending:
        broken = []
        ex = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_ignore_sigint)
        try:
            futs = {ex.submit(run_cell, spec.kind, spec.figure, c.options, _cell_dir(out, c)): c for c in pending}
            for fut in as_completed(futs):
                c = futs[fut]
                try:
                    res = fut.result()
                except BrokenProcessPool:  # a worker died: the cells not recorded run again
                    broken.append(c)
                    continue
                record(c, res)
        except BaseException:
            for proc in list(getattr(ex, "_processes", {}).values()):
                proc.terminate()
            ex.shutdown(wait=False, cancel_futures=True)
            raise
        ex.shutdown(wait=True)
        for c in broken:
            tries[c.id] += 1
        for c in (c for c in broken if tries[c.id] > retries):
            record(c, {"status": "failed", "error": f"the worker process died {tries[c.id]} times", "values": {},
                       "seconds": 0.0, "host": socket.gethostname(), "pid": 0})
        pending = [c for c in broken if tries[c.id] <= retries]


def _run_ray(spec, todo, out, workers, address, retries, record) -> None:
    try:
        import ray
    except ImportError:
        raise MarkovICLError("the sweep asks for Ray, which is not installed: pip install 'markov-icl[cluster]' "
                             "(or leave out --ray / --address to use a local process pool)") from None
    started = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {k: v for k, v in os.environ.items() if k.startswith("MARKOV_ICL_SWEEP")}})
        started = True
    try:
        task = ray.remote(num_cpus=1, max_retries=retries)(run_cell)
        refs = {task.remote(spec.kind, spec.figure, c.options, _cell_dir(out, c)): c for c in todo}
        left = list(refs)
        while left:
            ready, left = ray.wait(left, num_returns=1)
            c = refs[ready[0]]
            try:
                res = ray.get(ready[0])
            except Exception as exc:  # noqa: BLE001 - retries exhausted: recorded, the sweep goes on
                res = {"status": "failed", "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}",
                       "values": {}, "seconds": 0.0, "host": socket.gethostname(), "pid": 0}
            record(c, res)
    finally:
        if started:
            ray.shutdown()


def status(out: Path) -> str:
    """``markov-icl sweep --status DIR``: the counts of a sweep folder, without running anything."""
    out = Path(out)
    stored = out / "sweep.toml"
    if not stored.exists():
        raise MarkovICLError(f"{out} holds no sweep (no sweep.toml)")
    spec = parse_spec(stored.read_text())
    last = state(spec, out)
    all_cells = cells(spec)
    ok = sum(1 for c in all_cells if last.get(c.id, {}).get("status") == "ok")
    bad = [last[c.id] for c in all_cells if last.get(c.id, {}).get("status") == "failed"]
    secs = [float(r["seconds"]) for r in last.values() if r["status"] == "ok"]
    lines = [f"sweep {out}: kind {spec.kind}{' ' + spec.figure if spec.figure else ''}, {len(all_cells)} cells: "
             f"{ok} done, {len(bad)} failed, {len(all_cells) - ok - len(bad)} not run"
             + (f"; {sum(secs):.1f} s of cell time" if secs else "")]
    for r in bad[:5]:
        lines.append(f"  failed {r['cell']} ({', '.join(f'{k}={r[k]}' for k in spec.grid)}): {r['error']}")
    return "\n".join(lines)


__all__ = ["KINDS", "Spec", "Cell", "parse_spec", "cells", "cell_id", "argv", "estimate_seconds", "run_cell",
           "run_sweep", "status", "read_results", "state", "SweepReport", "MAX_CELLS"]
