"""Exact mathematics of markov-icl (SymPy and python-flint; never imports torch at module level).

Data flows one way: chain laws (:mod:`~markov_icl.symbolic.laws`) -> conditional moments and
kernel integration (:mod:`~markov_icl.symbolic.moments`) -> the objective's tables
(:mod:`~markov_icl.symbolic.objective`) -> the solve (:mod:`~markov_icl.symbolic.solve`) and its
certificate (:mod:`~markov_icl.symbolic.certify`) -> realisability and the best one-layer LSA
(:mod:`~markov_icl.symbolic.realizability`, :mod:`~markov_icl.symbolic.varpro`) -> lambdified
exports (:mod:`~markov_icl.symbolic.export`). The model's formulas (the LSA layer, phi) are
written once in :mod:`~markov_icl.symbolic.model`; Theorem 4.1 is in
:mod:`~markov_icl.symbolic.multilayer`, Lemma C.8 in :mod:`~markov_icl.symbolic.multistate`,
Theorem 3.5's reduction in :mod:`~markov_icl.symbolic.hardness`. The public names are
re-exported by :mod:`markov_icl`.
"""
