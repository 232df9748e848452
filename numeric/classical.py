"""Classical in-context learners: rules fitted on each prompt's context alone (the paper's Appendix B.2).

For one prompt the training set is its ``n`` context chains, features ``x_i = (s_{i,1},
..., s_{i,d})`` (states as numbers) and labels ``y_i = s_{i,d+1}``; the rule then predicts
the query's label from ``x_q``. Every prompt is a fresh, independent fit: nothing is
learned across prompts. The learners (scikit-learn, an optional dependency:
``pip install 'markov-icl[baselines]'``):

* ``logistic``: :class:`~sklearn.linear_model.LogisticRegression` (L2, ``C = 1``, lbfgs;
  multinomial for ``|S| > 2``);
* ``linear_svm``: :class:`~sklearn.svm.LinearSVC` (``C = 1``, squared hinge, the dual coordinate
  descent; one-vs-rest; seeded: ``random_state = 0``);
* ``knn3``: :class:`~sklearn.neighbors.KNeighborsClassifier` with ``k = min(3, n)``
  (Euclidean, uniform weights);
* ``linear_regression``: :class:`~sklearn.linear_model.LinearRegression` (least squares
  with an intercept), a real-valued prediction rounded to the nearest state for accuracy.

When every context label is the same class, the classifiers predict that class (scikit-learn
refuses to fit one class; that is also what any of them would answer). Convergence warnings
of the fits are silenced (small, often separable training sets).

Reproducible to the last digit on a CPU: every solver that draws random numbers is seeded
(LinearSVC's coordinate order; the others draw none) and the fits run on one BLAS / OpenMP
thread (``threadpoolctl``, which scikit-learn ships with), so the same prompts give the same
predictions whatever the machine's thread settings.

Two rules that read the chains themselves, not a fitted model, live in
:mod:`markov_icl.numeric.multistate` (no optional dependency):

* :func:`~markov_icl.numeric.multistate.known_kernel_predictions`: the known-kernel rule, an oracle that sees the
  prompt's kernel ``K`` and predicts ``argmax_j K[s_{q,d}, j]`` (``s_{q,d}`` is the query's last input state); no
  in-context rule has a higher expected accuracy, but it is not one itself;
* :func:`~markov_icl.numeric.multistate.count_predictions`: the most frequent successor of ``s_{q,d}`` among all the
  context transitions (an in-context estimate of the kernel row).

Examples:
    >>> import numpy as np
    >>> X = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]); y = np.array([0, 0, 1, 1])
    >>> [int(fit_predict(m, X, y, np.array([1., 1.]), 2)) for m in ("logistic", "linear_svm", "knn3")]
    [1, 1, 1]
    >>> float(fit_predict("linear_regression", X, y, np.array([1., 0.]), 2))
    1.0
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from markov_icl.errors import MarkovICLError

try:  # optional: the [baselines] extra
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import LinearSVC
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MarkovICLError("the classical in-context learners need the optional package scikit-learn: "
                         "pip install 'markov-icl[baselines]'") from exc

#: learner name -> what it is (the order of the CSV columns)
LEARNERS = {
    "logistic": "logistic regression (L2, C = 1)",
    "linear_svm": "linear SVM (C = 1)",
    "knn3": "3-nearest neighbours",
    "linear_regression": "linear regression (least squares, rounded)",
}


def _model(name: str, n: int):
    if name == "logistic":
        return LogisticRegression(C=1.0, max_iter=1000)
    if name == "linear_svm":
        return LinearSVC(C=1.0, max_iter=10_000, dual=True, random_state=0)
    if name == "knn3":
        return KNeighborsClassifier(n_neighbors=min(3, n))
    if name == "linear_regression":
        return LinearRegression()
    raise MarkovICLError(f"unknown learner {name!r}; allowed: {', '.join(LEARNERS)}")


def fit_predict(name: str, X: np.ndarray, y: np.ndarray, x_q: np.ndarray, states: int) -> float:
    """Fit learner ``name`` on one context ``(X (n, d), y (n,))`` and predict at ``x_q (d,)``.

    Returns the predicted state (classifiers) or the real-valued prediction (``linear_regression``).
    """
    model = _model(name, len(y))
    if name != "linear_regression" and len(np.unique(y)) == 1:
        return float(y[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y if name == "linear_regression" else y.astype(np.int64))
        return float(model.predict(x_q[None, :])[0])


def classical_predictions(pb, states: int, learners=tuple(LEARNERS), progress=None) -> dict[str, torch.Tensor]:
    """Each learner's prediction for every prompt of ``pb`` (a :class:`~markov_icl.numeric.prompts.PromptBatch`).

    Args:
        pb: the prompts (``Z0 (B, d+1, n+1)``).
        states: number of states ``|S|``.
        learners: names from :data:`LEARNERS`.
        progress: called once per prompt (e.g. a progress bar's ``update``).

    Returns:
        ``{name: (B,) float64 tensor}``.
    """
    from threadpoolctl import threadpool_limits

    for name in learners:
        _model(name, 1)  # unknown names fail before any fit
    Z = pb.Z0.detach().cpu().double().numpy()
    d = Z.shape[1] - 1
    out = {name: np.empty(Z.shape[0]) for name in learners}
    with threadpool_limits(limits=1):  # one thread: the same digits on every machine (module docstring)
        for b in range(Z.shape[0]):
            X, y, x_q = Z[b, :d, :-1].T, Z[b, d, :-1], Z[b, :d, -1]
            for name in learners:
                out[name][b] = fit_predict(name, X, y, x_q, states)
            if progress is not None:
                progress()
    return {k: torch.as_tensor(v) for k, v in out.items()}


__all__ = ["LEARNERS", "fit_predict", "classical_predictions"]
