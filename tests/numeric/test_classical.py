"""The in-context rules of Fig. 6 on prompts where the answer is known.

Oracles: hand-built contexts whose correct prediction follows from the learner's definition
(separable labels for the linear classifiers, repeated points for 3-NN, exactly affine labels
for least squares), hand-built chains for the known-kernel, count and majority rules.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("sklearn")

from markov_icl.errors import MarkovICLError  # noqa: E402
from markov_icl.numeric.classical import LEARNERS, classical_predictions, fit_predict  # noqa: E402
from markov_icl.numeric.multistate import (  # noqa: E402
    count_predictions,
    known_kernel_predictions,
    majority_predictions,
    sample_multistate,
)
from markov_icl.numeric.prompts import _assemble  # noqa: E402

# every binary input of length 2, twice; the label is the first coordinate
X2 = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 2, dtype=float)
Y_FIRST = X2[:, 0].copy()


@pytest.mark.parametrize("name", ["logistic", "linear_svm", "knn3"])
@pytest.mark.parametrize("query, expected", [((1, 0), 1), ((0, 1), 0), ((1, 1), 1), ((0, 0), 0)])
def test_classifiers_separable_binary(name, query, expected):
    assert fit_predict(name, X2, Y_FIRST, np.array(query, float), 2) == expected


@pytest.mark.parametrize("name", ["logistic", "linear_svm", "knn3"])
def test_classifiers_three_states(name):
    # d = 1, the label is the state itself: every classifier must recover it (well separated, 4 copies each)
    X = np.repeat(np.array([[0.0], [1.0], [2.0]]), 4, axis=0) * 3
    y = np.repeat(np.array([0.0, 1.0, 2.0]), 4)
    for q, expected in ((0.0, 0), (3.0, 1), (6.0, 2)):
        assert fit_predict(name, X, y, np.array([q]), 3) == expected


def test_knn_takes_the_three_nearest():
    # three copies of the query with label 2, four far points with label 0: the 3-NN vote is 2 (a majority rule
    # over all seven labels would say 0)
    X = np.array([[1, 1]] * 3 + [[5, 5]] * 4, dtype=float)
    y = np.array([2, 2, 2, 0, 0, 0, 0], dtype=float)
    assert fit_predict("knn3", X, y, np.array([1.0, 1.0]), 3) == 2
    # with n = 2 context chains k falls to 2
    assert fit_predict("knn3", X[[0, 3]], y[[0, 3]], np.array([1.0, 1.0]), 3) in (0, 2)


def test_linear_regression_is_exact_on_affine_labels():
    y = X2[:, 0] + X2[:, 1]  # 0, 1, 1, 2
    for q in ((0, 0), (1, 0), (1, 1), (0.5, 0.25)):
        assert fit_predict("linear_regression", X2, y, np.array(q, float), 3) == pytest.approx(sum(q), abs=1e-12)


@pytest.mark.parametrize("name", ["logistic", "linear_svm", "knn3"])
def test_one_class_context_predicts_that_class(name):
    assert fit_predict(name, X2, np.full(len(X2), 1.0), np.array([0.0, 0.0]), 2) == 1


def test_unknown_learner():
    with pytest.raises(MarkovICLError, match="unknown learner 'tree'; allowed: logistic"):
        fit_predict("tree", X2, Y_FIRST, np.zeros(2), 2)


def _prompts(chains):
    chains = torch.tensor(chains, dtype=torch.float64)
    return _assemble(chains, torch.zeros(chains.shape[0], 2, 2))


def test_classical_predictions_read_context_and_query():
    # prompt 0: the label of every context chain equals its first state, query (1, 0): every learner answers 1;
    # prompt 1: the same with the query (0, 1): answer 0. The query's own label (last entry) is hidden.
    ctx = [[a, b, a] for a, b in [(0, 0), (0, 1), (1, 0), (1, 1)] * 2]
    pb = _prompts([ctx + [[1, 0, 0]], ctx + [[0, 1, 1]]])
    got = classical_predictions(pb, 2)
    assert set(got) == set(LEARNERS)
    for name in ("logistic", "linear_svm", "knn3"):
        assert got[name].tolist() == [1.0, 0.0], name
    assert got["linear_regression"].tolist() == pytest.approx([1.0, 0.0], abs=1e-12)


def test_classical_predictions_match_single_fits():
    pb = sample_multistate(3, 2, 7, 5, seed=3)
    got = classical_predictions(pb, 3, ("logistic", "knn3"))
    Z = pb.Z0.numpy()
    for b in range(5):
        for name in ("logistic", "knn3"):
            assert got[name][b] == fit_predict(name, Z[b, :2, :-1].T, Z[b, 2, :-1], Z[b, :2, -1], 3)


def test_chain_rules_on_hand_built_prompts():
    # S = 3, d = 2; query chain (2, 1, ?) so s_(q,d) = 1
    ctx = [[1, 2, 2], [0, 1, 0], [1, 0, 0], [2, 2, 1]]
    pb = _prompts([ctx + [[2, 1, 0]]])
    K = torch.tensor([[[0.2, 0.3, 0.5], [0.1, 0.1, 0.8], [1.0, 0.0, 0.0]]], dtype=torch.float64)
    pb = type(pb)(Z0=pb.Z0, y=pb.y, chains=pb.chains, kernel=K)
    assert known_kernel_predictions(pb).tolist() == [2.0]  # argmax of row 1
    # transitions out of state 1 in the context: 1->2, 1->0, 1->0 -> the most frequent successor is 0
    assert count_predictions(pb, 3).tolist() == [0.0]
    # context labels 2, 0, 0, 1 -> majority 0
    assert majority_predictions(pb, 3).tolist() == [0.0]
    # a state never left in the context predicts itself; ties go to the lower state
    pb2 = _prompts([[[0, 0, 1], [0, 0, 1], [2, 2, 0]], [[1, 0, 1], [1, 2, 0], [0, 1, 0]]])
    assert count_predictions(pb2, 3).tolist() == [2.0, 0.0]
    assert majority_predictions(pb2, 3).tolist() == [1.0, 0.0]
