"""``markov-icl sweep SWEEP.toml --out DIR``: a grid of commands on Ray or a local process pool, resumable
(:mod:`markov_icl.experiments.sweep`).

``--workers K`` (default 2) local workers; ``--ray`` runs them on a local Ray instance (started
and stopped here), ``--address ADDR`` on an existing Ray cluster (``auto`` after ``ray start``);
without either, a local process pool. ``--status DIR`` prints a sweep folder's state and runs
nothing (also while a sweep runs there). Re-running the same command resumes where the last run
stopped; a second sweep on a folder in use is refused. Everything the sweep file says is checked
against the kind's command before any cell runs.
"""

from __future__ import annotations

import os
from pathlib import Path

from markov_icl.errors import MarkovICLError, int_option


def register(sub, argv=()) -> None:
    ap = sub.add_parser("sweep", help="run a grid of commands (Ray or local processes), resumable",
                        description="Run every cell of a sweep file's grid as one task, on Ray or a local process "
                                    "pool; one row per finished cell in DIR/results.csv; re-running resumes.")
    from markov_icl.examples import SWEEPS

    ap.add_argument("spec", nargs="?", help="the sweep file (TOML)")
    ap.add_argument("--example", choices=sorted(SWEEPS), default=None,
                    help="run a sweep file shipped with the package instead of a file (markov_icl.examples: "
                         + ", ".join(f"{k} = {v}" for k, v in SWEEPS.items()) + ")")
    ap.add_argument("--out", help="the sweep's folder (results.csv, sweep.toml, meta.json, cells/)")
    ap.add_argument("--workers", type=int_option, default=2, help="local workers (default 2)")
    ap.add_argument("--ray", action="store_true", help="run on a local Ray instance (extra [cluster])")
    ap.add_argument("--address", help="run on an existing Ray cluster (e.g. auto after 'ray start'; extra [cluster])")
    ap.add_argument("--retries", type=int_option, default=2, help="re-runs of a cell whose worker dies (default 2)")
    ap.add_argument("--status", metavar="DIR", help="print the state of a sweep folder and run nothing")
    ap.set_defaults(func=run)


def run(args) -> int:
    from markov_icl.experiments import sweep

    if args.status:
        print(sweep.status(Path(args.status)))
        return 0
    if args.example is not None:
        if args.spec:
            raise MarkovICLError("give a sweep file or --example NAME, not both")
        from markov_icl.examples import SWEEPS
        from markov_icl.examples import path as example_path

        args.spec = str(example_path(SWEEPS[args.example]))
    if not args.spec or not args.out:
        raise MarkovICLError("sweep needs a sweep file (or --example NAME) and --out DIR (or --status DIR)")
    cpus = os.cpu_count() or 1
    if not 1 <= args.workers <= max(cpus, 64):
        raise MarkovICLError(f"--workers must be between 1 and {max(cpus, 64)}, got {args.workers}")
    if not 0 <= args.retries <= 100:
        raise MarkovICLError(f"--retries must be between 0 and 100, got {args.retries}")
    if args.address is not None and args.ray:
        raise MarkovICLError("give --ray (a local Ray instance) or --address ADDR (a running cluster), not both")
    path = Path(args.spec)
    if not path.is_file():
        raise MarkovICLError(f"sweep file {args.spec}: not a readable file")
    if path.stat().st_size > 1_000_000:
        raise MarkovICLError(f"sweep file {args.spec}: larger than 1 MB; a sweep file is a short TOML text")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise MarkovICLError(f"sweep file {args.spec}: cannot be read as text ({exc})") from None
    spec = sweep.parse_spec(text)
    report = sweep.run_sweep(spec, Path(args.out), workers=args.workers, address=args.address,
                             use_ray=args.ray or args.address is not None, retries=args.retries)
    print(report.text())
    print(sweep.status(Path(args.out)))
    if spec.kind == "realize":
        from markov_icl.experiments.atlas import write_atlas

        for p in write_atlas(Path(args.out)):
            print(f"  wrote {p}")
    return 0 if report.failed == 0 else 1


__all__ = ["register"]
