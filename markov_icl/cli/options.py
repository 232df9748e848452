"""Options that several subcommands share (the chain law and the point)."""

from __future__ import annotations

from markov_icl.errors import int_option

KERNEL_HELP = "uniform | beta:AA,BA,AC,BC | fixed:A,C"
INIT_HELP = "iid | correlated:MCQ,MCC,MCCQ[,PC] | query_conditional:PI0,PI1 | example_c5"
#: the initial laws with a whole law (a sampler, the Bayes sums), not only three moments
WHOLE_INIT_HELP = "iid | query_conditional:PI0,PI1 | example_c5"


def add_point_options(ap, *, numeric: bool, d_help: str | None = None) -> None:
    """``--d``, ``--p``, ``--n``, ``--kernel``, ``--init``; with ``numeric`` p and n are required; with ``d_help``
    ``--d`` is optional (the command derives it otherwise, as ``optimum --gaussian`` does)."""
    ap.add_argument("--d", type=int_option, required=d_help is None, default=None,
                    help=d_help or "chain input length d >= 1")
    if numeric:
        ap.add_argument("--p", required=True, help="initial-state probability, exact (e.g. 1/2)")
        ap.add_argument("--n", type=int_option, required=True, help="number of context chains")
    else:
        ap.add_argument("--p", default=None, help="initial-state probability, exact (e.g. 1/2); symbolic if omitted")
        ap.add_argument("--n", default=None, help="number of context chains; symbolic if omitted")
    ap.add_argument("--kernel", default="uniform", help=KERNEL_HELP)
    ap.add_argument("--init", default="iid", help=INIT_HELP)


def add_law_options(ap, *, states: bool) -> None:
    """``--kernel`` and ``--init`` for the commands that need the whole law of the prompts (sums over transition or
    type counts, sampled prompts); with ``states`` also ``--states`` and the Dirichlet kernel of S-state chains."""
    if states:
        ap.add_argument("--kernel", default="uniform", help=f"{KERNEL_HELP} | dirichlet:ALPHA")
        ap.add_argument("--init", default="iid", help=f"{WHOLE_INIT_HELP} (binary chains)")
        ap.add_argument("--states", type=int_option, default=2, help="number of chain states S >= 2 (default 2)")
    else:
        ap.add_argument("--kernel", default="uniform", help=KERNEL_HELP)
        ap.add_argument("--init", default="iid", help=WHOLE_INIT_HELP)


def add_output_options(ap, max_d_help: str) -> None:
    """``--max-d`` (raising the command's limit on d) and ``--json``."""
    ap.add_argument("--max-d", type=int_option, default=None, help=max_d_help)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
