"""``markov-icl experiment NAME``: reproduce a figure of the paper, or a finding (:mod:`markov_icl.experiments`).

The options of each figure are built from the fields of its configuration dataclass; only
the chosen figure's module is imported. Common options: ``--out``, ``--threads`` (torch CPU
threads, default 1), ``--no-plot``, and ``--paper`` where the figure has the paper's preset.
"""

from __future__ import annotations

import importlib
import os
import time

from markov_icl.errors import MarkovICLError, check_finite, int_option
from markov_icl.experiments import EXPERIMENTS
from markov_icl.experiments.config import add_options, from_namespace
from markov_icl.io import check_out_dir

DEFAULT_OUT = "build/experiments"


def _first_line(module) -> str:
    return (module.__doc__ or "").strip().splitlines()[0]


def register(sub, argv=()) -> None:
    """Add ``experiment`` and one sub-subcommand per figure (only the one named in ``argv`` is imported)."""
    ap = sub.add_parser("experiment", help="reproduce a figure of the paper, or a finding: gap, basins (CSV + plot)",
                        description="Reproduce a figure of the paper at laptop scale (fig2-fig7), or a finding of the "
                                    "engine (gap: f* - f~* as n grows; basins: where the gradient flow ends): "
                                    "trained models, with the exact "
                                    "losses beside them. 'markov-icl experiment NAME --help' lists a figure's options.")
    exp = ap.add_subparsers(dest="experiment", metavar="NAME", parser_class=type(ap))
    chosen = argv[1] if len(argv) > 1 and argv[1] in EXPERIMENTS else None
    for name, module_name in EXPERIMENTS.items():
        if chosen is not None and name != chosen:
            exp.add_parser(name)
            continue
        mod = importlib.import_module(module_name)
        ep = exp.add_parser(name, help=_first_line(mod), description=_first_line(mod))
        add_common_options(ep, mod, DEFAULT_OUT)
        add_options(ep, mod.CONFIG)
        ep.set_defaults(func=runner(mod))


def add_common_options(ap, mod, default_out: str) -> None:
    """``--out``, ``--threads``, ``--no-plot`` and, where the module's configuration has a preset, ``--paper``."""
    ap.add_argument("--out", default=default_out, help=f"output folder (default {default_out})")
    ap.add_argument("--threads", type=int_option, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--no-plot", action="store_true", help="write the CSV only")
    if mod.CONFIG.PAPER:
        ap.add_argument("--paper", action="store_true",
                        help=(mod.CONFIG.PAPER_NOTE or "the paper's settings") + " ("
                             + ", ".join(f"{k}={v}" for k, v in mod.CONFIG.PAPER.items())
                             + "); options given explicitly still win")


def runner(mod):
    """The ``func`` of a figure's subcommand: configuration, checks, run, outputs, summary."""
    def run(args) -> int:
        config = from_namespace(mod.CONFIG, args, paper=getattr(args, "paper", False))
        if not 1 <= args.threads <= (os.cpu_count() or 1):
            raise MarkovICLError(f"--threads must be between 1 and the number of CPUs ({os.cpu_count() or 1}), "
                                 f"got {args.threads}")
        out = check_out_dir(args.out)
        import torch

        torch.set_num_threads(args.threads)
        t0 = time.perf_counter()
        result = check_finite(mod.run(config), f"experiment {mod.__name__.rsplit('.', 1)[-1]}")
        written = mod.write(result, config, out, plot_figure=not args.no_plot)
        print(mod.summary(result, config, time.perf_counter() - t0))
        for path in written:
            print(f"  wrote {path}")
        return 0

    return run


__all__ = ["register", "add_common_options", "runner"]
