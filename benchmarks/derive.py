"""Wall time of ``markov-icl derive all``: first run (empty cache) vs second run (warm cache).

    python benchmarks/derive.py              # CLI runs in fresh processes (what a user sees)
    python benchmarks/derive.py --repeat 3   # median of 3 warm runs

Each cold run uses a new, empty cache folder ($MARKOV_ICL_CACHE) and a new output folder;
the warm runs reuse both. Target: warm >= 5x faster than cold. Prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("markov-icl")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "markov_icl"]


def timed_run(args: list[str], env: dict) -> float:
    t = time.perf_counter()
    proc = subprocess.run(_cli() + args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    dt = time.perf_counter() - t
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout)
        raise SystemExit(f"markov-icl {' '.join(args)} failed with exit status {proc.returncode}")
    return dt


_IN_PROCESS = """
import json, sys, time
from markov_icl.derivations.report import derive
out = sys.argv[1]
t = time.perf_counter(); derive("all", out, log=lambda *a: None); cold = time.perf_counter() - t
t = time.perf_counter(); derive("all", out, log=lambda *a: None); warm = time.perf_counter() - t
print(json.dumps({"cold": cold, "warm": warm}))
"""


def _in_process(tmp: Path) -> dict:
    """Cold and warm ``derive("all")`` in one interpreter (imports excluded), with a new cache."""
    import json

    env = dict(os.environ, MARKOV_ICL_CACHE=str(tmp / "cache-inproc"))
    proc = subprocess.run([sys.executable, "-c", _IN_PROCESS, str(tmp / "out-inproc")], env=env, cwd=ROOT,
                          stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="warm runs (median reported)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="markov-icl-bench-") as tmp:
        env = dict(os.environ, MARKOV_ICL_CACHE=str(Path(tmp) / "cache"))
        out = str(Path(tmp) / "out")
        startup = statistics.median(timed_run(["--help"], env) for _ in range(3))
        cold = timed_run(["derive", "all", "--out", out], env)
        warm = statistics.median(timed_run(["derive", "all", "--out", out], env) for _ in range(args.repeat))
        nocache = timed_run(["derive", "all", "--out", out, "--no-cache"], env)
        has_pdf = (Path(out) / "report.pdf").exists()
        inproc = _in_process(Path(tmp))
    rows = [
        ("`markov-icl --help` (interpreter start-up; no subcommand module is imported)", startup),
        ("`derive all`, first run (empty cache)", cold),
        (f"`derive all`, second run (warm cache, median of {args.repeat})", warm),
        ("`derive all --no-cache`", nocache),
    ]
    print(f"report.pdf produced: {has_pdf}; CPUs: {os.cpu_count()}")
    print("| run | wall time (s) |")
    print("|---|---:|")
    for name, t in rows:
        print(f"| {name} | {t:.2f} |")
    rows_in = [("`derive(\"all\")` in one process, first call (empty cache)", inproc["cold"]),
               ("`derive(\"all\")` in one process, second call (warm cache)", inproc["warm"])]
    for name, t in rows_in:
        print(f"| {name} | {t:.2f} |")
    print(f"\nspeed-up of the second run: {cold / warm:.1f}x as a command (target >= 5x); "
          f"{inproc['cold'] / inproc['warm']:.0f}x for the derivation work itself (in process)")


if __name__ == "__main__":
    main()
