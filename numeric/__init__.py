"""Numeric layer of markov-icl: prompt sampling, LSA models, training, Monte Carlo, the cross-check.

Uses PyTorch and NumPy, and :mod:`markov_icl.symbolic` only through its public functions
(the chain laws, :func:`~markov_icl.symbolic.solve.solve`, the formulas of
:mod:`~markov_icl.symbolic.model`).

* :mod:`~markov_icl.numeric.prompts`: vectorised, seeded sampler of binary Markov prompts for any
  numeric :class:`~markov_icl.symbolic.laws.ChainLaw` (theory §1), and the features ``x_q (kron) g``;
  :mod:`~markov_icl.numeric.multistate`: S-state prompts (theory §8).
* :mod:`~markov_icl.numeric.lsa`: dense L-layer LSA (theory §2), the sparse one-layer ``b^T G A x_q``,
  the structured multilayer LSA of Theorem 4.1 (theory §7).
* :mod:`~markov_icl.numeric.montecarlo`: unbiased estimates of H, beta, E[y^2] and of a model's loss,
  with standard errors.
* :mod:`~markov_icl.numeric.train`: Adam / SGD on fresh prompts or a fixed dataset, seeded.
* :mod:`~markov_icl.numeric.verify`: a trained one-layer LSA against the exact optimum.
* :mod:`~markov_icl.numeric.pareto`: Pareto fronts and the generational distance (Fig. 2).
* :mod:`~markov_icl.numeric.softmax`: a GPT-2 softmax transformer on chain tokens (Hugging Face
  ``transformers``, optional extra ``[baselines]``; Figs. 6-7).
* :mod:`~markov_icl.numeric.classical`: in-context logistic regression, linear SVM, 3-NN and
  linear regression fitted per prompt (scikit-learn, extra ``[baselines]``; Fig. 6).
"""
