"""``markov-icl dynamics``: the exact gradient flow of a one-layer parameterization against training
(:mod:`markov_icl.experiments.dynamics`, theory §12).

Options are the fields of :class:`~markov_icl.experiments.dynamics.DynamicsConfig`, plus ``--out``
(default ``build/dynamics``), ``--threads`` and ``--no-plot``, as for ``markov-icl experiment``.
"""

from __future__ import annotations

from markov_icl.cli.experiment import add_common_options, runner
from markov_icl.experiments.config import add_options

DEFAULT_OUT = "build/dynamics"


def register(sub, argv=()) -> None:
    from markov_icl.experiments import dynamics

    ap = sub.add_parser("dynamics", help="exact learning dynamics of a one-layer parameterization vs training",
                        description=(dynamics.__doc__ or "").strip().splitlines()[0])
    add_common_options(ap, dynamics, DEFAULT_OUT)
    add_options(ap, dynamics.CONFIG)
    ap.set_defaults(func=reported(runner(dynamics)))


def reported(run):
    """``run`` inside a progress report (:class:`~markov_icl.progress.Progress`): a start line, and when stderr is not a
    terminal a line at least every 30 s (the run's length depends on the escape time it predicts: no estimate; the
    defaults take about 20 s on a 2-core machine)."""
    def wrapped(args) -> int:
        from markov_icl.progress import Progress

        with Progress("dynamics", what="the exact flow against gradient descent, training and Adam from one "
                                       "initialisation (the defaults: about 20 s on 2 cores)", delay=1.0):
            return run(args)

    return wrapped


__all__ = ["register"]
