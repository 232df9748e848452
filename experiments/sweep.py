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

**Checked before any cell runs** (:func:`parse_spec`, :func:`check_spec`): the TOML; each key is an option
of the kind's command, spelled out in full (no abbreviations; ``out``, ``json``, ``help``, ``version`` are
the sweep's own); each value has the option's type (``true`` / ``false`` only for flags, lists only for
options that take several values) and passes the option's own parser (``int_option``, choices, ...), as
the command line would parse it; strings are at most :data:`MAX_VALUE_CHARS` characters without control
characters; a grid has no repeated value and at most :data:`MAX_CELLS` cells (counted before any range is
expanded). An option that names a file (:data:`PATH_OPTIONS`, e.g. verify's ``save``) takes a plain
file name, written inside the cell's folder ``DIR/cells/CELL/``: nothing a sweep file says is written
outside ``--out``. The TOML is data: nothing in it runs.

Each cell runs the command of its kind in a worker (the library in-process, as
``markov-icl KIND --opt=value ... --json``; kinds that write files get their own ``DIR/cells/CELL/``)
and returns its values: the command's JSON (exact values as strings with float twins) or, for
``experiment`` and ``dynamics``, the files written and the printed summary.

**Results.** ``DIR/results.csv`` exists (its header) from the start; the driver appends **one row per
finished cell** as it finishes: one checked ``write`` of a whole line on a file opened for appending, then
``fsync`` (a short or failed write is cut off again and stops the sweep with one line: nothing
half-written stays). A row is never rewritten; a run killed mid-write leaves at most a torn last line,
which the next run cuts off. Columns: ``cell`` (a hash of the cell's options), one per grid key,
``status`` (``ok`` / ``failed``), ``error`` (the one-line message of a failed cell), ``values``,
``seconds``, ``host``, ``pid``, ``attempt`` (the how-many-th start of this cell, counting worker deaths
and earlier runs), ``finished_at``, ``node`` (the Ray node id, or ``local``). ``values`` is the JSON
itself up to :data:`VALUES_INLINE_BYTES`; larger values go to a side file ``DIR/values/CELL-SHA.json``
(written atomically first) and the row holds ``{"$file": ..., "sha256": ..., "bytes": ...}``
(:func:`values_of` reads either), so every row stays short whatever a cell returns. Beside it:
``DIR/sweep.toml`` (the sweep file), ``DIR/meta.json`` (the package version, the grid size) and
``DIR/sweep.lock``.

**Reading** (:func:`scan`) validates every row (UTF-8, the column count, a cell of this grid with its
grid values, the status, the numbers, the values' JSON or side file); a damaged row is reported
(``--status`` and the run's report name the lines) and never trusted, so its cell runs again.

**One sweep per folder.** The driver holds an exclusive ``flock`` on ``DIR/sweep.lock`` while it runs
(the file says which process and since when); a second sweep on the same folder is refused with one
line; the kernel releases the lock of a killed driver, so a stale lock never blocks the next run.

Re-running the same command resumes: cells with a valid ``ok`` row are skipped, failed, damaged and
missing cells are run (a cell's last valid row is its state). A cell that raises records its error and
the sweep goes on.

Workers: Ray (``--address ADDR`` for an existing cluster, e.g. ``auto`` after ``ray start`` on the
nodes, reached within :data:`CONNECT_TIMEOUT` seconds or refused; otherwise a local Ray instance started
and stopped by the command with K workers) when the optional ``ray`` package is installed and asked
for; otherwise a local process pool of K workers, with the same results. Every worker uses one torch
thread. A worker that dies (or a node that leaves the cluster) is retried by the driver, up to
``retries`` times; only the attempt that finishes writes a row. Pool workers die with the driver
(``PR_SET_PDEATHSIG`` on Linux and a watchdog thread everywhere); a local Ray instance is stopped by a
reaper process when the driver dies. Cells are scheduled biggest first, by each kind's measured growth
in ``d`` (:func:`estimate_seconds`).

Examples:
    >>> spec = parse_spec('kind = "objective"\\n[grid]\\nd = [1, 2]\\nn = {range = [5, 10, 5]}\\n[options]\\np = "1/2"')
    >>> [c.options for c in cells(spec)]
    [{'d': 1, 'n': 5, 'p': '1/2'}, {'d': 1, 'n': 10, 'p': '1/2'}, {'d': 2, 'n': 5, 'p': '1/2'}, {'d': 2, 'n': 10, 'p': '1/2'}]
    >>> parse_spec('kind = "objective"\\n[grid]\\nd = [1, 1]')
    Traceback (most recent call last):
    ...
    markov_icl.errors.MarkovICLError: sweep grid d: the value 1 is repeated (each cell would run twice)
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import json
import math
import os
import re
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

#: the longest string value of an option (error lines quote at most 80 characters of it)
MAX_VALUE_CHARS = 1000

#: options of the commands that the sweep sets itself
RESERVED = ("out", "json", "help", "version")

#: options that name a file the command writes: a sweep gives a plain name, placed in the cell's folder
PATH_OPTIONS = ("save",)

#: a cell's values up to this many bytes of JSON sit in its row; larger ones in a side file (module docstring)
VALUES_INLINE_BYTES = 64 * 1024

#: the largest side file of values that is read back
MAX_VALUES_BYTES = 256 * 2**20

#: seconds to reach a Ray cluster given by --address before the sweep is refused
CONNECT_TIMEOUT = 15.0

COLUMNS_AFTER = ["status", "error", "values", "seconds", "host", "pid", "attempt", "finished_at", "node"]
#: the columns before ``node`` was added: such a results file is read and appended to in its own layout
LEGACY_COLUMNS_AFTER = COLUMNS_AFTER[:-1]


@dataclass(frozen=True)
class Spec:
    """A parsed sweep file."""

    kind: str
    figure: str | None
    grid: dict
    options: dict
    text: str = field(repr=False, default="", compare=False)


def _text(v) -> str:
    """A value as the command line receives it."""
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def _show(v) -> str:
    """A value as the sweep file writes it (for error lines)."""
    return ("true" if v else "false") if isinstance(v, bool) else shown(v, 40)


def _check_scalar(where: str, x) -> None:
    if isinstance(x, bool) or isinstance(x, int):
        return
    if isinstance(x, float):
        if not math.isfinite(x):
            raise MarkovICLError(f"{where}: {x} is not a finite number")
        return
    if isinstance(x, str):
        if len(x) > MAX_VALUE_CHARS:
            raise MarkovICLError(f"{where}: a string of {len(x)} characters; at most {MAX_VALUE_CHARS}")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in x):
            raise MarkovICLError(f"{where}: {shown(x)} holds a control character (a newline, a tab, ...)")
        return
    raise MarkovICLError(f"{where}: values must be numbers, strings or booleans, got {shown(x)}")


def _grid_size(v) -> int:
    """How many values a grid entry has, without expanding a range (a malformed one counts 1: refused later)."""
    if isinstance(v, dict):
        r = v.get("range")
        if isinstance(r, list) and len(r) in (2, 3) and all(isinstance(x, int) and not isinstance(x, bool) for x in r) \
                and (len(r) == 2 or r[2] > 0):
            return len(range(r[0], r[1] + 1, r[2] if len(r) == 3 else 1))
        return 1
    return max(len(v), 1) if isinstance(v, list) else 1


def _grid_values(key: str, v) -> list:
    where = f"sweep grid {key}"
    if isinstance(v, dict):
        if set(v) != {"range"} or not isinstance(v["range"], list) or len(v["range"]) not in (2, 3) or not all(
                isinstance(x, int) and not isinstance(x, bool) for x in v["range"]):
            raise MarkovICLError(f"{where}: a range is {{range = [start, stop]}} or {{range = [start, stop, "
                                 f"step]}} of integers (stop included), got {shown(v)}")
        start, stop, *rest = v["range"]
        step = rest[0] if rest else 1
        if step <= 0:
            raise MarkovICLError(f"{where}: the range step must be a positive integer, got {step}")
        span = range(start, stop + 1, step)
        if len(span) > MAX_CELLS:  # counted, not expanded
            raise MarkovICLError(f"{where}: the range has {len(span)} values; a sweep has at most {MAX_CELLS} cells")
        vals = list(span)
    elif isinstance(v, list):
        vals = v
    else:
        vals = [v]
    if not vals:
        raise MarkovICLError(f"{where}: no values")
    if len(vals) > MAX_CELLS:
        raise MarkovICLError(f"{where}: {len(vals)} values; a sweep has at most {MAX_CELLS} cells")
    seen = set()
    for x in vals:
        for y in x if isinstance(x, list) else [x]:  # a list: one cell's value of an option of several values
            _check_scalar(where, y)
        key_x = (isinstance(x, bool), tuple(map(_text, x)) if isinstance(x, list) else _text(x))
        if key_x in seen:
            raise MarkovICLError(f"{where}: the value {_show(x)} is repeated (each cell would run twice)")
        seen.add(key_x)
    return vals


def parse_spec(text: str) -> Spec:
    """Parse and check a sweep file's text (nothing in it is executed: TOML is data). The options are checked
    against the kind's command by :func:`check_spec`.

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
    if not isinstance(kind, str) or kind not in KINDS:
        raise MarkovICLError(f"sweep file: kind must be one of {', '.join(KINDS)}, got {shown(kind)}")
    figure = data.get("figure")
    if kind == "experiment":
        from markov_icl.experiments import EXPERIMENTS

        if not isinstance(figure, str) or figure not in EXPERIMENTS:
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
    flags: dict[str, str] = {}
    for key in (*grid, *options):
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,63}", key) or key.replace("-", "_") in RESERVED:
            raise MarkovICLError(f"sweep file: {shown(key)} is not an option name a sweep may set (letters, digits, "
                                 f"_ and -; not {', '.join(RESERVED)}: the sweep sets those)")
        norm = key.replace("-", "_")
        if norm in flags:
            if flags[norm] == key:
                raise MarkovICLError(f"sweep file: {shown(key)} is both in [grid] and [options]")
            raise MarkovICLError(f"sweep file: {flags[norm]!r} and {key!r} name the same option")
        flags[norm] = key
    size = math.prod(_grid_size(v) for v in grid.values())  # counted before any range is expanded
    if size > MAX_CELLS:
        raise MarkovICLError(f"sweep file: the grid has {size} cells; at most {MAX_CELLS}")
    parsed = {k: _grid_values(k, v) for k, v in grid.items()}
    for k, v in options.items():
        if isinstance(v, dict):
            raise MarkovICLError(f"sweep file: option {k} must be a value or a list of values, got a table")
        for x in v if isinstance(v, list) else [v]:
            _check_scalar(f"sweep option {k}", x)
    return Spec(kind, figure, parsed, dict(options), text)


# ---- the options against the kind's command -------------------------------------------------------------------


def _command_parser(spec: Spec):
    """``(parser, prefix)``: the top-level parser with the kind's command registered, and the argv prefix."""
    from markov_icl.cli import build_parser

    prefix = list(KINDS[spec.kind][0]) + ([spec.figure] if spec.kind == "experiment" else [])
    return build_parser(prefix), prefix


def _actions(parser, prefix: list[str]) -> dict:
    """``{"--flag": action}`` of the command at ``prefix`` (its subparser's long options)."""
    import argparse

    p = parser
    for word in prefix:
        sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
        p = sub.choices[word]
    return {s: a for a in p._actions for s in a.option_strings if s.startswith("--")}


def _parse_quietly(parser, args: list[str]) -> str | None:
    """None when ``args`` parse; else argparse's one-line message."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            parser.parse_args(args)
        except SystemExit:
            lines = err.getvalue().strip().splitlines() or ["the command refused its options"]
            return lines[-1].removeprefix("markov-icl: error: ")
    return None


def check_spec(spec: Spec) -> None:
    """Check every grid key and option of ``spec`` against the kind's command before any cell runs (module
    docstring): the names (exact, no abbreviations), the kinds of value (flags take true / false, only
    options of several values take lists), every distinct value through the option's own type and
    choices, and one whole command line through the command's parser (required options, exclusive
    groups).

    Raises:
        MarkovICLError: one line naming the option, the value and what the command allows.
    """
    import argparse

    parser, prefix = _command_parser(spec)
    actions = _actions(parser, prefix)
    command = "markov-icl " + " ".join(prefix)
    allowed = sorted(s[2:] for s in actions if s[2:] not in RESERVED)
    for key, values in (*spec.grid.items(), *((k, [v]) for k, v in spec.options.items())):
        flag = "--" + key.replace("_", "-")
        action = actions.get(flag)
        if action is None or key.replace("-", "_") in RESERVED:
            close = [a for a in allowed if a.startswith(key.replace("_", "-")[:3])][:6]
            raise MarkovICLError(f"sweep file: {shown(key, 40)} is not an option of {command} (options are spelled "
                                 f"in full{'; did you mean ' + ', '.join(close) if close else ''}; see {command} "
                                 "--help)")
        is_flag = action.nargs == 0
        many = action.nargs in ("+", "*") or isinstance(action.nargs, int) and action.nargs > 1
        for v in values:
            where = f"sweep file: {key} = {_show(v)}"
            if is_flag:
                if not isinstance(v, bool):
                    raise MarkovICLError(f"{where}: {flag} is a flag of {command}; give true or false")
                continue
            if isinstance(v, bool):
                raise MarkovICLError(f"{where}: {flag} of {command} takes a value, not true / false")
            items = v if isinstance(v, list) else [v]
            if isinstance(v, list) and not many:
                raise MarkovICLError(f"{where}: {flag} of {command} takes one value, not a list")
            if many and not items:
                raise MarkovICLError(f"{where}: {flag} needs at least one value")
            for x in items:
                if key.replace("-", "_") in PATH_OPTIONS:
                    _check_file_name(where, x)
                text = _text(x)
                if many and text.startswith("-") and not re.fullmatch(r"-\d+(\.\d*)?", text):
                    raise MarkovICLError(f"{where}: a list value may not start with '-'")
                try:
                    value = action.type(text) if callable(action.type) else text
                except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
                    raise MarkovICLError(f"{where}: {flag}: {shown(str(exc), 120, plain=True)}") from None
                if action.choices is not None and value not in action.choices:
                    raise MarkovICLError(f"{where}: {flag} must be one of {', '.join(map(str, action.choices))}")
    first = cells(spec)[0]
    message = _parse_quietly(parser, argv(spec, first.options, Path("cells") / first.id))
    if message is not None:
        raise MarkovICLError(f"sweep file: the command line of a cell is refused by {command}: {message}")


def _check_file_name(where: str, x) -> None:
    text = _text(x)
    if not re.fullmatch(r"[A-Za-z0-9_.+-]{1,200}", text) or text in (".", "..") or text.startswith("-"):
        raise MarkovICLError(f"{where}: a file option takes a plain file name (letters, digits, . _ + -), written in "
                             "the cell's folder DIR/cells/CELL/; paths are not allowed")


# ---- cells ---------------------------------------------------------------------------------------------------


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
    """The command line of one cell (``--flag=value``, so that no value is read as an option; a file option's
    name placed in ``out``, the cell's folder)."""
    prefix, report = KINDS[spec.kind]
    args = list(prefix) + ([spec.figure] if spec.kind == "experiment" else [])
    for k, v in options.items():
        flag = "--" + k.replace("_", "-")
        if isinstance(v, bool):
            if v:
                args.append(flag)
            continue
        if isinstance(v, list):
            args.append(flag)
            args.extend(_text(x) for x in v)
        elif k.replace("-", "_") in PATH_OPTIONS:
            args.append(f"{flag}={Path(out) / _text(v)}")
        else:
            args.append(f"{flag}={_text(v)}")
    if report == "json":
        args.append("--json")
    else:
        args.append(f"--out={out}")
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
    if spec.kind in ("verify", "dynamics", "experiment") and isinstance(steps, int) and not isinstance(steps, bool):
        base += steps * 1e-3 * d
    return float(base)


def _node_id() -> str:
    """The Ray node this worker runs on, or ``local`` (Ray is never imported here: a pool worker has none)."""
    ray = sys.modules.get("ray")
    try:
        if ray is not None and ray.is_initialized():
            return str(ray.get_runtime_context().get_node_id())
    except Exception:  # noqa: BLE001 - the id is a record, never a reason to fail a cell
        pass
    return "local"


def run_cell(spec_kind: str, figure: str | None, options: dict, cell_dir: str) -> dict:
    """Run one cell in this process; returns ``{"status", "error", "values", "seconds", "host", "pid", "node"}``.

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
    if any(k.replace("-", "_") in PATH_OPTIONS for k in options):
        out.mkdir(parents=True, exist_ok=True)
    stdout, stderr = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    values: dict = {}
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(args)
        err = (stderr.getvalue().strip().splitlines() or [f"exit status {code}"])[-1] if code else ""
        if code == 0:
            if KINDS[spec_kind][1] == "json":
                values = json.loads(stdout.getvalue())
            else:
                values = {"summary": stdout.getvalue().strip(),
                          "files": sorted(str(p.relative_to(out.parent.parent)) for p in out.rglob("*") if p.is_file())}
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a cell that raises is recorded, the sweep goes on
        code, err, values = 1, f"{type(exc).__name__}: {exc}", {}
    seconds = time.perf_counter() - t0
    return {"status": "ok" if code == 0 else "failed", "error": " ".join(err.split())[:500], "values": values,
            "seconds": seconds, "host": socket.gethostname(), "pid": os.getpid(), "node": _node_id()}


# ---- results: writing --------------------------------------------------------------------------------------------


def results_path(out: Path) -> Path:
    return Path(out) / "results.csv"


def columns_of(spec: Spec) -> list[str]:
    return ["cell", *spec.grid, *COLUMNS_AFTER]


def _header_line(columns: list[str]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(columns)
    return buf.getvalue().encode()


#: the system call that appends a row (a test makes it fail as a full disk does)
_write = os.write


def _write_checked(fd: int, data: bytes, path: Path) -> None:
    """Append ``data`` whole or not at all: a short or failed write is cut off again (the file keeps its size)."""
    size = os.fstat(fd).st_size
    try:
        view = memoryview(data)
        while view:
            n = _write(fd, view)
            if n <= 0:
                raise OSError(28, "No space left on device")
            view = view[n:]
        os.fsync(fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, size)
        raise OSError(f"{path}: cannot append a row ({exc.strerror or exc}); the sweep stops with nothing "
                      "half-written; free space and re-run the same command to resume") from None


def _append_row(path: Path, columns: list[str], row: dict) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    w.writerow(row)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        _write_checked(fd, buf.getvalue().encode(), path)
    finally:
        os.close(fd)


def _values_field(out: Path, cell: str, values) -> str:
    """The ``values`` column: the JSON itself, or a reference to its side file (module docstring)."""
    text = json.dumps(values, sort_keys=True, allow_nan=False)
    data = text.encode()
    if len(data) <= VALUES_INLINE_BYTES:
        return text
    from markov_icl.io import atomic_write_bytes

    digest = hashlib.sha256(data).hexdigest()
    rel = f"values/{cell}-{digest[:16]}.json"
    try:
        atomic_write_bytes(Path(out) / rel, data)
    except OSError as exc:
        raise OSError(f"{Path(out) / rel}: cannot write a cell's values ({exc.strerror or exc}); the sweep stops; "
                      "free space and re-run the same command to resume") from None
    return json.dumps({"$file": rel, "sha256": digest, "bytes": len(data)}, sort_keys=True)


def _repair_tail(path: Path) -> None:
    """Cut a torn last line (no newline) off ``path``: the one change ever made to a written byte."""
    if not path.exists():
        return
    with open(path, "r+b") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        pos = size
        while pos > 0:  # the last newline, read backwards in blocks
            step = min(65536, pos)
            fh.seek(pos - step)
            block = fh.read(step)
            i = block.rfind(b"\n")
            if i >= 0:
                fh.truncate(pos - step + i + 1)
                return
            pos -= step
        fh.truncate(0)


# ---- results: reading ------------------------------------------------------------------------------------------


@dataclass
class Scan:
    """What :func:`scan` found in ``results.csv``: the valid rows, the damaged ones (line number, why)."""

    columns: list[str]
    rows: list[dict]
    damaged: list[tuple[int, str]]
    legacy: bool = False

    def damaged_text(self, limit: int = 3) -> str:
        if not self.damaged:
            return ""
        shown_lines = "; ".join(f"line {n}: {why}" for n, why in self.damaged[:limit])
        more = f"; {len(self.damaged) - limit} more" if len(self.damaged) > limit else ""
        return (f"{len(self.damaged)} damaged row(s) of results.csv ignored ({shown_lines}{more}); a cell without a "
                "valid ok row runs again")


_HEX16 = re.compile(r"[0-9a-f]{16}")


def _check_row(row: dict, out: Path, grid_of: dict, spec: Spec) -> str | None:
    """Why ``row`` cannot be trusted, or None."""
    cell = row["cell"]
    if not _HEX16.fullmatch(cell) or cell not in grid_of:
        return "not a cell of this sweep"
    if any(row[k] != _csv_text(v) for k, v in grid_of[cell].items()):
        return "its grid values are not its cell's"
    if row["status"] not in ("ok", "failed"):
        return f"status {shown(row['status'], 20)}"
    try:
        seconds, attempt = float(row["seconds"]), int(row["attempt"])
        int(row["pid"])
    except ValueError:
        return "a number column is not a number"
    if not (math.isfinite(seconds) and seconds >= 0 and attempt >= 1):
        return "seconds or attempt out of range"
    try:
        values = json.loads(row["values"])
    except (ValueError, RecursionError):
        return "values is not JSON"
    if not isinstance(values, dict):
        return "values is not a JSON object"
    if "$file" in values:
        ref = values
        if set(ref) != {"$file", "sha256", "bytes"} or not isinstance(ref["$file"], str) or \
                not re.fullmatch(rf"values/{cell}-[0-9a-f]{{16}}\.json", ref["$file"]) or \
                not isinstance(ref["bytes"], int) or not isinstance(ref["sha256"], str):
            return "values names a side file of the wrong form"
        try:
            st = os.lstat(Path(out) / ref["$file"])
        except OSError:
            return f"its values file {ref['$file']} is missing"
        import stat

        if not stat.S_ISREG(st.st_mode) or st.st_size != ref["bytes"] or st.st_size > MAX_VALUES_BYTES:
            return f"its values file {ref['$file']} is not the one written"
    return None


def _csv_text(v) -> str:
    """A grid value as ``csv.DictWriter`` writes it."""
    return str(v)


def scan(spec: Spec, out: Path) -> Scan:
    """Read and validate ``DIR/results.csv`` line by line (module docstring); never raises on a damaged row.

    Raises:
        MarkovICLError: the file's header is not this sweep's (another sweep's results, or not a results file).
    """
    path = results_path(out)
    columns = columns_of(spec)
    legacy_columns = ["cell", *spec.grid, *LEGACY_COLUMNS_AFTER]
    if not path.exists():
        return Scan(columns, [], [])
    with open(path, "rb") as fh:
        lines = fh.read().split(b"\n")
    torn = lines.pop() if lines else b""  # after the last newline: b"" for a whole file, else a torn line
    if not lines or not lines[0].strip():
        if torn or (lines and not lines[0].strip() and len(lines) > 1):
            raise MarkovICLError(f"{path}: its first line is not a results header (damaged); move the file away "
                                 "to start the sweep's results afresh")
        return Scan(columns, [], [])
    header = _parse_line(lines[0])
    if isinstance(header, str):
        header = None
    if header == columns:
        use, legacy = columns, False
    elif header == legacy_columns:
        use, legacy = legacy_columns, True
    elif header and header[0] == "cell":
        raise MarkovICLError(f"{path}: its columns are not this sweep's; use another --out")
    else:
        raise MarkovICLError(f"{path}: its first line is not a results header (damaged); move the file away to start "
                             "the sweep's results afresh")
    grid_of = {c.id: c.grid for c in cells(spec)}
    rows, damaged = [], []
    for number, raw in enumerate(lines[1:], 2):
        fields = _parse_line(raw)
        if isinstance(fields, str):
            damaged.append((number, fields))
            continue
        if len(fields) != len(use):
            damaged.append((number, f"{len(fields)} fields, {len(use)} expected"))
            continue
        row = dict(zip(use, fields))
        why = _check_row(row, out, grid_of, spec)
        if why:
            damaged.append((number, why))
            continue
        row.setdefault("node", "")
        rows.append(row)
    if torn:
        damaged.append((len(lines) + 1, "an incomplete last line (a run killed mid-write; the next run cuts it off)"))
    return Scan(use, rows, damaged, legacy)


#: the longest row read: inline values and the other columns (a longer line is damaged)
MAX_ROW_BYTES = VALUES_INLINE_BYTES + 65536


def _parse_line(raw: bytes) -> list[str] | str:
    """The fields of one line, or why it is not a row."""
    if len(raw) > MAX_ROW_BYTES:
        return f"{len(raw)} bytes, longer than any row written ({MAX_ROW_BYTES})"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    try:
        rows = list(csv.reader([text]))
    except csv.Error as exc:
        return f"not a CSV line ({shown(str(exc), 60, plain=True)})"
    return rows[0] if len(rows) == 1 else "not a CSV line"


def read_results(out: Path, columns: list[str] | None = None) -> list[dict]:
    """The valid rows of ``results.csv`` of the sweep stored in ``out`` (damaged rows left out: :func:`scan`)."""
    spec = _stored_spec(Path(out))
    return scan(spec, out).rows


def state(spec: Spec, out: Path) -> dict[str, dict]:
    """The last valid row of every cell that has one."""
    last = {}
    for r in scan(spec, out).rows:
        last[r["cell"]] = r
    return last


def values_of(out: Path, row: dict) -> dict:
    """A row's values: its JSON, or its side file read back and checked against its SHA-256.

    Raises:
        MarkovICLError: a side file that is missing, too large or not the one written.
    """
    values = json.loads(row["values"])
    if not isinstance(values, dict) or "$file" not in values:
        return values
    path = Path(out) / values["$file"]
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_VALUES_BYTES + 1)
    except OSError as exc:
        raise MarkovICLError(f"{path}: cannot read a cell's values ({exc.strerror})") from None
    if len(data) > MAX_VALUES_BYTES or hashlib.sha256(data).hexdigest() != values["sha256"]:
        raise MarkovICLError(f"{path}: not the values that were written (size or SHA-256 differs)")
    return json.loads(data)


# ---- the folder ----------------------------------------------------------------------------------------------


def _stored_spec(out: Path) -> Spec:
    stored = Path(out) / "sweep.toml"
    if not stored.is_file():
        raise MarkovICLError(f"{out} holds no sweep (no sweep.toml)")
    try:
        text = stored.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MarkovICLError(f"{stored}: cannot be read ({exc})") from None
    return parse_spec(text)


def prepare(spec: Spec, out: Path) -> None:
    """Create ``out`` with the sweep file, ``meta.json`` and the results' header, or check that it holds this very
    sweep (a header of the results is written if none is there yet)."""
    from markov_icl import __version__
    from markov_icl.io import atomic_write_bytes, check_out_dir

    out = check_out_dir(out)
    stored = out / "sweep.toml"
    if stored.exists():
        if _stored_spec(out) != parse_spec(spec.text):
            raise MarkovICLError(f"{out} holds a different sweep ({stored}); use another --out")
    else:
        atomic_write_bytes(stored, spec.text.encode())
        meta = {"version": __version__, "kind": spec.kind, "figure": spec.figure, "cells": len(cells(spec)),
                "python": sys.version.split()[0], "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        atomic_write_bytes(out / "meta.json", (json.dumps(meta, indent=2) + "\n").encode())
    path = results_path(out)
    if not path.exists() or path.stat().st_size == 0:
        atomic_write_bytes(path, _header_line(columns_of(spec)))


class SweepLock:
    """An exclusive ``flock`` on ``DIR/sweep.lock`` for the driver's lifetime (module docstring)."""

    def __init__(self, out: Path):
        self.path = Path(out) / "sweep.lock"
        self.fd: int | None = None

    def __enter__(self) -> SweepLock:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            with contextlib.suppress(OSError):
                holder = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
            os.close(fd)
            who = holder if "holder" in locals() and isinstance(holder, dict) else {}
            by = f" (pid {who.get('pid')} on {who.get('host')}, since {who.get('started')})" if who else ""
            raise MarkovICLError(f"{self.path.parent} is in use by another sweep{by}; wait for it to end or stop it "
                                 "(a killed sweep releases the folder)") from None
        info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                           "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, info, 0)
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)  # releases the lock; the file stays (its content is a note)
            self.fd = None


@dataclass
class SweepReport:
    """What a run did: counts, wall time, per-cell seconds, damaged rows found."""

    total: int
    done: int
    failed: int
    skipped: int
    wall: float
    seconds: list[float]
    backend: str
    damaged: str = ""

    def text(self) -> str:
        import numpy as np

        s = np.array(self.seconds) if self.seconds else np.zeros(1)
        pct = ", ".join(f"p{q} {np.percentile(s, q):.2f} s" for q in (50, 90, 100)) if self.seconds else "-"
        text = (f"sweep: {self.total} cells: {self.done} done now, {self.failed} failed, {self.skipped} skipped "
                f"(finished before); {self.wall:.1f} s wall on {self.backend}; per cell {pct}")
        return text + (f"\n  {self.damaged}" if self.damaged else "")


def run_sweep(spec: Spec, out: Path, workers: int = 2, address: str | None = None, use_ray: bool | None = None,
              progress: bool = True, retries: int = 2) -> SweepReport:
    """Run the cells of ``spec`` not yet finished in ``out`` (module docstring); returns the report. ``progress``:
    report progress (:class:`~markov_icl.progress.Progress`: a start line with the estimated wall time, a bar on a
    terminal, a line at least every 30 s in a log)."""
    from markov_icl.errors import check_int
    from markov_icl.io import check_out_dir
    from markov_icl.progress import Progress

    check_int("workers", workers)
    check_int("retries", retries, 0)
    check_spec(spec)
    ray_wanted = use_ray if use_ray is not None else address is not None
    if ray_wanted and address:  # reached (or refused) before anything is written
        _import_ray()
        if not sys.modules["ray"].is_initialized():
            _probe(address)
    out = check_out_dir(Path(out))
    out.mkdir(parents=True, exist_ok=True)
    with SweepLock(out):
        prepare(spec, out)
        path = results_path(out)
        _repair_tail(path)
        found = scan(spec, out)
        columns = found.columns
        last = {}
        for r in found.rows:
            last[r["cell"]] = r
        every = cells(spec)
        todo = [c for c in every if last.get(c.id, {}).get("status") != "ok"]
        skipped = len(every) - len(todo)
        todo.sort(key=lambda c: -estimate_seconds(spec, c.options))
        before = {c.id: int(last.get(c.id, {}).get("attempt") or 0) for c in todo}
        estimate = sum(estimate_seconds(spec, c.options) for c in todo) / max(1, min(workers, len(todo) or 1))
        bar = Progress("sweep", len(todo), unit="cell", estimate=estimate, enabled=progress,
                       what=f"{len(todo)} cells to run ({skipped} finished before) on {workers} workers")
        t0 = time.perf_counter()
        seconds: list[float] = []
        counts = {"ok": 0, "failed": 0}

        def record(cell: Cell, res: dict, deaths: int) -> None:
            row = {"cell": cell.id, **{k: cell.grid[k] for k in spec.grid}, "status": res["status"],
                   "error": res["error"], "values": _values_field(out, cell.id, res["values"]),
                   "seconds": f"{res['seconds']:.6f}", "host": res["host"], "pid": res["pid"],
                   "attempt": before[cell.id] + deaths + 1, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
                   "node": res.get("node", "")}
            _append_row(path, columns, row)
            seconds.append(res["seconds"])
            counts["ok" if res["status"] == "ok" else "failed"] += 1
            bar.update(1)

        try:
            if ray_wanted:
                backend = _run_ray(spec, todo, out, workers, address, retries, record)
            else:
                _run_pool(spec, todo, out, workers, retries, record)
                backend = f"process pool, {workers} workers"
        finally:
            bar.close()
    return SweepReport(len(every), counts["ok"], counts["failed"], skipped, time.perf_counter() - t0, seconds, backend,
                       found.damaged_text())


def _cell_dir(out: Path, cell: Cell) -> str:
    return str(Path(out) / "cells" / cell.id)


#: in a pool worker: the queue on which it names each cell it starts (the driver counts a death only for those)
_STARTED = None


def _pool_cell(cell: str, spec_kind: str, figure: str | None, options: dict, cell_dir: str) -> dict:
    if _STARTED is not None:
        _STARTED.put(cell)
    return run_cell(spec_kind, figure, options, cell_dir)


def _worker_init(parent: int, started=None) -> None:
    """A pool worker: leaves SIGINT to the driver, and dies with it (``PR_SET_PDEATHSIG`` where Linux offers it,
    and a watchdog thread that sees the driver gone)."""
    import signal
    import threading

    global _STARTED
    _STARTED = started

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    if os.getppid() != parent:  # the driver died before the line above ran
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="markov-icl-driver-watchdog", daemon=True).start()


def _run_pool(spec, todo, out, workers, retries, record) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    pending = list(todo)
    deaths = {c.id: 0 for c in todo}
    ctx = mp.get_context("spawn")
    while pending:
        broken = []
        started = ctx.SimpleQueue()
        ex = ProcessPoolExecutor(max_workers=min(workers, len(pending)), mp_context=ctx, initializer=_worker_init,
                                 initargs=(os.getpid(), started))
        try:
            futs = {ex.submit(_pool_cell, c.id, spec.kind, spec.figure, c.options, _cell_dir(out, c)): c
                    for c in pending}
            for fut in as_completed(futs):
                c = futs[fut]
                try:
                    res = fut.result()
                except BrokenProcessPool:  # a worker died: the cells not recorded run again
                    broken.append(c)
                    continue
                record(c, res, deaths[c.id])
        except BaseException:
            for proc in list(getattr(ex, "_processes", {}).values()):
                proc.terminate()
            ex.shutdown(wait=False, cancel_futures=True)
            raise
        ex.shutdown(wait=True)
        began = set()
        while not started.empty():
            began.add(started.get())
        started.close()
        for c in broken:  # a cell whose worker died (or was stopped with the broken pool); one never begun: no death
            deaths[c.id] += c.id in began
        for c in (c for c in broken if deaths[c.id] > retries):
            record(c, {"status": "failed", "error": f"the worker process died {deaths[c.id]} times", "values": {},
                       "seconds": 0.0, "host": socket.gethostname(), "pid": 0, "node": "local"}, deaths[c.id] - 1)
        pending = [c for c in broken if deaths[c.id] <= retries]


# ---- Ray -----------------------------------------------------------------------------------------------------


def _probe(address: str) -> None:
    """Reach ``address`` (``HOST:PORT``, ``ray://HOST:PORT`` or ``auto``) within :data:`CONNECT_TIMEOUT` seconds.

    Raises:
        MarkovICLError: nothing answers there (one line, after at most the timeout).
    """
    text = address.strip()
    if text == "auto":
        try:
            from ray._private.services import canonicalize_bootstrap_address_or_die

            text = canonicalize_bootstrap_address_or_die("auto")
        except Exception as exc:  # noqa: BLE001 - Ray's own message, on one line
            raise MarkovICLError(f"--address auto: no running Ray cluster found on this machine ({_one_line(exc)}); "
                                 "start one with 'ray start --head'") from None
    m = re.fullmatch(r"(?:ray://)?\[?([^\]\s]+?)\]?:(\d{1,5})", text)
    if not m:
        raise MarkovICLError(f"--address {shown(address)}: expected HOST:PORT (e.g. 10.0.0.1:6379), ray://HOST:PORT "
                             "or auto")
    host, port = m.group(1), int(m.group(2))
    t0 = time.monotonic()
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise MarkovICLError(f"--address {shown(address)}: no Ray cluster answers at {host}:{port} within "
                             f"{CONNECT_TIMEOUT:g} s ({exc.strerror or _one_line(exc)}); check the address, or start "
                             "the cluster with 'ray start --head'") from None
    if not text.startswith("ray://"):  # a port that accepts TCP may still be no Ray GCS: ask it, with a deadline
        _probe_gcs(f"{host}:{port}", address, max(1.0, CONNECT_TIMEOUT - (time.monotonic() - t0)))


def _probe_gcs(gcs: str, address: str, timeout: float) -> None:
    """Ask the GCS at ``gcs`` for its cluster id in a daemon thread; refuse when it has not answered in time
    (Ray's own connect retries for a minute and more)."""
    import threading

    answer: dict = {}

    def ask() -> None:
        try:
            from ray._raylet import GcsClient

            answer["id"] = GcsClient(address=gcs).cluster_id
        except Exception as exc:  # noqa: BLE001 - reported below, on one line
            answer["error"] = exc

    worker = threading.Thread(target=ask, name="markov-icl-gcs-probe", daemon=True)
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:  # Ray's C++ client logs each failed try on the process's stderr: the command's one line is below
        os.dup2(devnull, 2)
        worker.start()
        worker.join(timeout)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    if "id" not in answer:
        why = _one_line(answer["error"]) if "error" in answer else f"no answer within {CONNECT_TIMEOUT:g} s"
        raise MarkovICLError(f"--address {shown(address)}: {gcs} accepts connections but is not a Ray cluster that "
                             f"answers ({why}); check the address and the port (ray start --head prints it)")


def _one_line(exc: BaseException) -> str:
    return shown(" ".join(str(exc).split()) or type(exc).__name__, 160, plain=True)


def _start_reaper(pids: list[int]) -> object:
    """A process that kills the local Ray instance's processes (``pids``) when this driver dies: it waits for
    the end of a pipe the driver holds open. Returns the pipe's write end (keep it open)."""
    import subprocess

    code = ("import os, select, signal, sys\n"
            "roots = {int(x) for x in sys.argv[1:]}\n"
            "def tree():\n"  # the processes under roots now (Linux /proc; elsewhere the roots alone)
            "    kids = {}\n"
            "    for e in os.listdir('/proc') if os.path.isdir('/proc') else []:\n"
            "        if not e.isdigit():\n"
            "            continue\n"
            "        try:\n"
            "            ppid = int(open(f'/proc/{e}/stat').read().rsplit(')', 1)[1].split()[1])\n"
            "        except (OSError, ValueError, IndexError):\n"
            "            continue\n"
            "        kids.setdefault(ppid, []).append(int(e))\n"
            "    todo, seen = list(roots), set()\n"
            "    while todo:\n"
            "        p = todo.pop()\n"
            "        if p not in seen:\n"
            "            seen.add(p)\n"
            "            todo.extend(kids.get(p, []))\n"
            "    return seen\n"
            "known = set(roots)\n"
            "while True:\n"  # until the driver (the only writer of stdin) is gone; the tree is remembered as it
            "    known |= tree()\n"  # grows, since Ray's own cleanup may reparent its agents first
            "    r, _, _ = select.select([sys.stdin], [], [], 0.5)\n"
            "    if r and not os.read(sys.stdin.fileno(), 1):\n"
            "        break\n"
            "for p in known | tree():\n"
            "    try: os.kill(p, signal.SIGKILL)\n"
            "    except OSError: pass\n")
    proc = subprocess.Popen([sys.executable, "-c", code, *map(str, pids)], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return proc


def _local_ray_pids() -> list[int]:
    try:
        import ray._private.worker as rw

        node = rw._global_node
        return [info.process.pid for infos in node.all_processes.values() for info in infos if info.process]
    except Exception:  # noqa: BLE001 - without the list the reaper has nothing to do; Ray's own cleanup remains
        return []


def _import_ray():
    try:
        import ray
    except ImportError:
        raise MarkovICLError("the sweep asks for Ray, which is not installed: pip install 'markov-icl[cluster]' "
                             "(or leave out --ray / --address to use a local process pool)") from None
    return ray


def _run_ray(spec, todo, out, workers, address, retries, record) -> str:
    ray = _import_ray()
    env = {k: v for k, v in os.environ.items() if k.startswith("MARKOV_ICL_SWEEP")}
    runtime_env = {"env_vars": env} if env else None
    started, reaper = False, None
    if not ray.is_initialized():
        if address:
            try:
                ray.init(address=address, log_to_driver=False, runtime_env=runtime_env)
            except Exception as exc:  # noqa: BLE001 - e.g. another Ray version there
                raise MarkovICLError(f"--address {shown(address)}: cannot join the Ray cluster ({_one_line(exc)})") \
                    from None
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, runtime_env=runtime_env)
            reaper = _start_reaper(_local_ray_pids())
        started = True
    backend = f"ray ({address or f'local, {workers} workers'})"
    refs: dict = {}
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(run_cell)
        deaths = {c.id: 0 for c in todo}

        def submit(c):
            refs[task.remote(spec.kind, spec.figure, c.options, _cell_dir(out, c))] = c

        for c in todo:
            submit(c)
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            c = refs.pop(ready[0])
            try:
                res = ray.get(ready[0])
            except ray.exceptions.RayTaskError as exc:  # the task itself raised: recorded, not retried
                res = {"status": "failed", "error": f"{type(exc).__name__}: {_one_line(exc)[:300]}", "values": {},
                       "seconds": 0.0, "host": socket.gethostname(), "pid": 0, "node": ""}
            except Exception as exc:  # noqa: BLE001 - the worker or its node died: retried by the driver
                deaths[c.id] += 1
                if deaths[c.id] <= retries:
                    submit(c)
                    continue
                res = {"status": "failed", "error": f"the worker died {deaths[c.id]} times (last: "
                                                    f"{type(exc).__name__})", "values": {}, "seconds": 0.0,
                       "host": socket.gethostname(), "pid": 0, "node": ""}
                record(c, res, deaths[c.id] - 1)
                continue
            record(c, res, deaths[c.id])
    except BaseException:
        for ref in refs:  # on a cluster the tasks would outlive the driver
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            ray.shutdown()
        if reaper is not None:
            reaper.stdin.close()  # the reaper kills what shutdown left (nothing, normally) and exits
            with contextlib.suppress(Exception):
                reaper.wait(timeout=10)
    return backend


def status(out: Path) -> str:
    """``markov-icl sweep --status DIR``: the counts of a sweep folder, without running anything (a sweep may be
    running there)."""
    out = Path(out)
    spec = _stored_spec(out)
    found = scan(spec, out)
    last = {}
    for r in found.rows:
        last[r["cell"]] = r
    all_cells = cells(spec)
    ok = sum(1 for c in all_cells if last.get(c.id, {}).get("status") == "ok")
    bad = [last[c.id] for c in all_cells if last.get(c.id, {}).get("status") == "failed"]
    secs = [float(r["seconds"]) for r in last.values() if r["status"] == "ok"]
    lines = [f"sweep {out}: kind {spec.kind}{' ' + spec.figure if spec.figure else ''}, {len(all_cells)} cells: "
             f"{ok} done, {len(bad)} failed, {len(all_cells) - ok - len(bad)} not run"
             + (f"; {sum(secs):.1f} s of cell time" if secs else "")]
    for r in bad[:5]:
        lines.append(f"  failed {r['cell']} ({', '.join(f'{k}={r[k]}' for k in spec.grid)}): {r['error']}")
    if found.damaged:
        lines.append("  " + found.damaged_text())
    return "\n".join(lines)


__all__ = ["KINDS", "Spec", "Cell", "parse_spec", "check_spec", "cells", "cell_id", "argv", "estimate_seconds",
           "run_cell", "run_sweep", "status", "read_results", "state", "scan", "Scan", "values_of", "SweepReport",
           "SweepLock", "MAX_CELLS", "VALUES_INLINE_BYTES", "CONNECT_TIMEOUT", "PATH_OPTIONS"]
