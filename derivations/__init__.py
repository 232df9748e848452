"""The derivation documents: one module per result of the paper, and their rendering.

Each module (``theorem_3_3``, ``lemma_c8``, ...) exposes ``build(p=None, n=None) ->``
:class:`~markov_icl.derivations.document.Derivation`: the statement in the paper's
notation, the steps the engine performed, the results and the checks that were run.
:mod:`~markov_icl.derivations.render` turns them into LaTeX (and PDF) with one template;
:func:`markov_icl.derivations.report.derive` writes the documents and the report.
"""

#: derivation name -> module, in the order of ``markov-icl derive all`` and of the report
DERIVATIONS = {
    "lemma_3_1": "markov_icl.derivations.lemma_3_1",
    "lemma_3_2": "markov_icl.derivations.lemma_3_2",
    "theorem_3_3": "markov_icl.derivations.theorem_3_3",
    "theorem_3_4": "markov_icl.derivations.theorem_3_4",
    "example_c16": "markov_icl.derivations.example_c16",
    "realizability": "markov_icl.derivations.realizability",
    "theorem_4_1": "markov_icl.derivations.theorem_4_1",
    "lemma_c8": "markov_icl.derivations.lemma_c8",
    "gaussian_regression": "markov_icl.derivations.gaussian_regression",
    "dynamics": "markov_icl.derivations.dynamics",
    "bayes": "markov_icl.derivations.bayes",
    "softmax": "markov_icl.derivations.softmax",
    "ngd": "markov_icl.derivations.ngd",
    "modes": "markov_icl.derivations.modes",
}

__all__ = ["DERIVATIONS"]
