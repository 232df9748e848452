"""Registry of derivation documents and experiments.

A name maps to a module; modules that are not present are skipped, so the list can
name every planned result. ``markov-icl derive all`` renders every present derivation
in this order.
"""

from __future__ import annotations

import importlib
import importlib.util

#: derivation name -> module (each exposes build(p=None, n=None, **kw) -> Derivation)
DERIVATIONS = {
    "lemma_3_1": "derivations.lemma_3_1",
    "lemma_3_2": "derivations.lemma_3_2",
    "theorem_3_3": "derivations.theorem_3_3",
    "theorem_3_4": "derivations.theorem_3_4",
    "example_c16": "derivations.example_c16",
    "realizability": "derivations.realizability",
    "theorem_4_1": "derivations.theorem_4_1",
    "lemma_c8": "derivations.lemma_c8",
}

#: experiment name -> module (each exposes add_arguments(parser) and run(args) -> int)
EXPERIMENTS = {
    "fig2": "derivations.experiments.fig2",
    "fig3": "derivations.experiments.fig3",
    "fig4": "derivations.experiments.fig4",
    "fig5": "derivations.experiments.fig5",
}


def present(table: dict[str, str]) -> dict[str, str]:
    """The entries of a registry whose module exists."""
    out = {}
    for name, mod in table.items():
        try:
            found = importlib.util.find_spec(mod) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            out[name] = mod
    return out


def load(table: dict[str, str], name: str):
    return importlib.import_module(present(table)[name])
