"""The paper's figures from trained models, with the exact losses beside them, and the engine's own findings.

Each module (``fig2`` ... ``fig7``; ``gap``: f* - f~* as n grows and its limit; ``basins``: where the gradient
flow ends, by initialisation scale) has a frozen configuration dataclass (``CONFIG``, see
:mod:`markov_icl.experiments.config`), ``run(config) -> result``, ``write(result, config,
out)`` for the CSV and the figure, and ``summary(result, config, seconds)`` for the text the
command line prints, so every figure runs from Python as from ``markov-icl experiment``.
"""

#: experiment name -> module, in the order of ``markov-icl experiment --help``
EXPERIMENTS = {
    "fig2": "markov_icl.experiments.fig2",
    "fig3": "markov_icl.experiments.fig3",
    "fig4": "markov_icl.experiments.fig4",
    "fig5": "markov_icl.experiments.fig5",
    "fig6": "markov_icl.experiments.fig6",
    "fig7": "markov_icl.experiments.fig7",
    "learners": "markov_icl.experiments.learners",
    "gap": "markov_icl.experiments.gap",
    "basins": "markov_icl.experiments.basins",
    "emergence": "markov_icl.experiments.emergence",
}

__all__ = ["EXPERIMENTS"]
