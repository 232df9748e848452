"""Numeric layer of markov-icl: prompt sampling, LSA models, training, Monte Carlo.

Imports torch / numpy, and :mod:`symbolic` only through its lambdified exports and the
chain-law value objects.

* :mod:`numeric.prompts`: vectorised, seeded sampler of binary Markov prompts for any
  numeric :class:`symbolic.laws.ChainLaw` (SPEC §1), and the features ``x_q (kron) g``.
* :mod:`numeric.lsa`: dense L-layer LSA (SPEC §2), the sparse one-layer ``b^T G A x_q``,
  the structured multilayer LSA of Theorem 4.1 (SPEC §7), and ``phi(b, A)`` (SPEC §3).
* :mod:`numeric.montecarlo`: unbiased estimates of H, beta, E[y^2] and of a model's loss,
  with standard errors.
* :mod:`numeric.train`: Adam / SGD on fresh prompts or a fixed dataset, seeded.
"""
