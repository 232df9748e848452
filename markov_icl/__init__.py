"""markov-icl: exact in-context-learning theory of linear self-attention on Markov-chain prompts.

The public API. Everything a researcher uses is importable from here; the modules behind
it are loaded on first use, so ``import markov_icl`` is cheap (PyTorch is imported only by
the numeric parts).

Examples:
    >>> import markov_icl as mi
    >>> s = mi.solve(d=1, p="1/2", n=5)               # exact: X* = H^{-1} beta, f~* (Theorem 3.3)
    >>> s.f_tilde_star, s.X_star
    (35/96, (1/6, 1/2, 1/2))
    >>> mi.realize(s.X_star, d=1).realizable           # is X* = phi(b, A) for some one-layer LSA?
    False
    >>> round(mi.best_one_layer(s).f_star, 9)          # the best one-layer loss f* > f~*
    0.364611217
    >>> f = mi.functions(d=2)                          # lambdified H, beta, X*, f~* of (p, n)
    >>> f.X_star(0.5, 10).shape
    (12,)

The theory reference is docs/theory.md; the paper is "Optimality and NP-Hardness of
Transformers in Learning Markovian Dynamical Functions" (NeurIPS 2025).
"""

from __future__ import annotations

import importlib

from markov_icl._version import __version__
from markov_icl.errors import MarkovICLError

#: public name -> module that defines it (loaded on first use)
_EXPORTS = {
    # chain laws (theory §1, §8)
    "ChainLaw": "markov_icl.symbolic.laws",
    "InitLaw": "markov_icl.symbolic.laws",
    "KernelLaw": "markov_icl.symbolic.laws",
    "DirichletKernel": "markov_icl.symbolic.laws",
    # the enlarged-space objective and its minimiser (theory §3)
    "solve": "markov_icl.symbolic.solve",
    "Solution": "markov_icl.symbolic.solve",
    "functions": "markov_icl.symbolic.export",
    "f_tilde": "markov_icl.symbolic.objective",
    "Index": "markov_icl.symbolic.objective",
    "phi": "markov_icl.symbolic.model",
    "lsa_layer": "markov_icl.symbolic.model",
    # realisability and the best one-layer LSA (theory §6)
    "realize": "markov_icl.symbolic.realizability",
    "region_d1": "markov_icl.symbolic.realizability",
    "best_one_layer": "markov_icl.symbolic.varpro",
    "psi": "markov_icl.symbolic.varpro",
    "realize_optimum": "markov_icl.symbolic.varpro",
    # one-layer parameterizations and their exact optimum
    "preset": "markov_icl.symbolic.param",
    "optimum": "markov_icl.symbolic.param",
    "Parameterization": "markov_icl.symbolic.param",
    "loss_of": "markov_icl.numeric.evaluate",
    # exact learning dynamics (theory §12)
    "PopulationLoss": "markov_icl.symbolic.dynamics",
    "LinearFlow": "markov_icl.symbolic.dynamics",
    "integrate_flow": "markov_icl.numeric.dynamics",
    # a second data family: Gaussian linear regression (exact moments)
    "GaussianLaw": "markov_icl.symbolic.gaussian",
    "sample_gaussian_prompts": "markov_icl.numeric.gaussian",
    # prompts, models, training, Monte Carlo (theory §1-2, §7-8)
    "sample_prompts": "markov_icl.numeric.prompts",
    "sample_multistate": "markov_icl.numeric.multistate",
    "DenseLSA": "markov_icl.numeric.lsa",
    "SparseLSA": "markov_icl.numeric.lsa",
    "StructuredLSA": "markov_icl.numeric.lsa",
    "ParamLSA": "markov_icl.numeric.lsa",
    "one_layer_params": "markov_icl.numeric.lsa",
    "train": "markov_icl.numeric.train",
    "estimate_objective": "markov_icl.numeric.montecarlo",
    "estimate_loss": "markov_icl.numeric.montecarlo",
    "verify": "markov_icl.numeric.verify",
    # beyond linear attention: the Bayes floor, softmax attention, the LSA with a constant input (theory §13-14)
    "bayes": "markov_icl.symbolic.bayes",
    "BayesRisk": "markov_icl.symbolic.bayes",
    "BayesPredictor": "markov_icl.numeric.bayes",
    "SoftmaxLoss": "markov_icl.symbolic.softmax",
    "softmax": "markov_icl.symbolic.softmax",
    "softmax_flow": "markov_icl.symbolic.softmax",
    "SoftmaxAttention": "markov_icl.numeric.attention",
    "constant_input": "markov_icl.symbolic.constant_input",
    "constant_input_optimum": "markov_icl.symbolic.constant_input",
    # transformers as algorithms: normalized GD in softmax layers (theory §15)
    "NGDConstruction": "markov_icl.symbolic.ngd",
    "one_layer_identity": "markov_icl.symbolic.ngd",
    "separable": "markov_icl.symbolic.ngd",
    "NGDTransformer": "markov_icl.numeric.ngd",
    "ngd_iterates": "markov_icl.numeric.ngd",
    "ngd_depth_table": "markov_icl.numeric.ngd",
    "ngd_depth_table_mc": "markov_icl.numeric.ngd",
    "train_looped": "markov_icl.numeric.ngd",
    # exact mode dynamics of a key-query head (theory §16; seed 003)
    "key_query": "markov_icl.symbolic.modes",
    "QuadraticObjective": "markov_icl.symbolic.modes",
    "derive_modes": "markov_icl.symbolic.modes",
    "mode_spectrum": "markov_icl.symbolic.modes",
    "ModeSolution": "markov_icl.symbolic.modes",
    "mode_assumption_effects": "markov_icl.numeric.modes",
    "markov_mode_analogue": "markov_icl.numeric.modes",
    # macroscopic measures of weight matrices (theory §17)
    "effective_rank": "markov_icl.numeric.measures",
    "marginal_effective_rank": "markov_icl.numeric.measures",
    "subspace_distance": "markov_icl.numeric.measures",
    # derivation documents
    "derive": "markov_icl.derivations.report",
    "build_derivation": "markov_icl.derivations.report",
}

__all__ = ["__version__", "MarkovICLError", *_EXPORTS]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'markov_icl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
