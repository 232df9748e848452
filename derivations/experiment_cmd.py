"""``markov-icl experiment NAME``: reproduce a figure of the paper at laptop scale."""

from __future__ import annotations

from derivations.cache import check_out_dir
from derivations.registry import EXPERIMENTS, load, present


def _runner(run):
    def go(args):
        check_out_dir(args.out)
        return run(args)

    return go


def register(sub) -> None:
    ap = sub.add_parser("experiment", help="reproduce a figure of the paper (plot + CSV)")
    exp = ap.add_subparsers(dest="experiment", required=True, parser_class=type(ap))
    for name in present(EXPERIMENTS):
        mod = load(EXPERIMENTS, name)
        ep = exp.add_parser(name, help=(mod.__doc__ or name).strip().splitlines()[0])
        ep.add_argument("--out", default="build/experiments", help="output folder (default build/experiments)")
        mod.add_arguments(ep)
        ep.set_defaults(func=_runner(mod.run))
