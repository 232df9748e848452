"""The normalized-GD construction (theory §15): the one-layer identity in SymPy, the weights, separability.

Oracles: SymPy's derivative of the exponential loss (the NGD step) against the layer computed by matrix products of
the emitted weights, a deliberately broken construction that must fail the identity, and an integer grid search for
separating directions (tests/oracles/ngd.py).
"""

from itertools import combinations

import numpy as np
import pytest
import sympy as sp

from markov_icl.errors import MarkovICLError
from markov_icl.oracles.bayes import grid_separable
from markov_icl.symbolic import ngd
from markov_icl.symbolic.ngd import NGDConstruction, chain_types, one_layer_identity, separable


@pytest.mark.parametrize("d,n,bias", [(1, 1, True), (1, 3, True), (2, 2, True), (2, 3, False), (3, 2, True)])
def test_one_layer_identity_is_zero(d, n, bias):
    assert one_layer_identity(d, n, bias) == sp.zeros(d + bias, 1)


def test_a_wrong_sign_breaks_the_identity(monkeypatch):
    wrong = NGDConstruction._block

    def flipped(self, rows, cols, value):  # a score of +u^T w: gradient ascent, not descent
        return wrong(self, rows, cols, -value if (rows, cols) == ("U", "W") else value)

    monkeypatch.setattr(NGDConstruction, "_block", flipped)
    assert one_layer_identity(1, 2) != sp.zeros(2, 1)


def test_layer_on_concrete_tokens_is_the_ngd_step():
    c = NGDConstruction(2, 2, eta=[sp.Rational(1, 3), 2])
    ctx = sp.Matrix.hstack(c.embed_context((0, 1), 1), c.embed_context((1, 1), 0), c.embed_context((1, 0), 1))
    w = sp.Matrix([sp.Rational(1, 2), -1, 2])
    out = c.layer(2, ctx, c.embed_query((1, 0), w))
    U = sp.Matrix([[-1, 1, 1], [-1, -1, -1], [1, -1, 1]])
    m = [(U.row(i) * w)[0] for i in range(3)]
    expect = w + 2 * sum((sp.exp(-m[i]) * U.row(i).T for i in range(3)), sp.zeros(3, 1)) / sum(sp.exp(-v) for v in m)
    assert (out[6:, 0] - expect).applyfunc(sp.simplify) == sp.zeros(3, 1)
    assert out[:6, 0] == c.embed_query((1, 0), w)[:6, 0]


def test_first_layer_from_zero_is_the_mean_signed_feature_exactly():
    c = NGDConstruction(1, 1, eta="1/2")
    ctx = sp.Matrix.hstack(c.embed_context((0,), 1), c.embed_context((1,), 1), c.embed_context((1,), 0))
    out = c.layer(1, ctx, c.embed_query((1,)))
    assert list(out[4:, 0]) == [-sp.Rational(1, 6), sp.Rational(1, 6)]  # (1/2) (1/3) ((-1, 1) + (1, 1) + (-1, -1))


def test_weights_layout_and_json():
    c = NGDConstruction(2, 3, eta="1/4", bias=False)
    assert (c.k, c.width) == (2, 6)
    KQ, OV, R = c.W_KQ(2), c.W_OV(3), c.readout()
    assert KQ[0:2, 4:6] == -sp.eye(2) and sum(abs(v) for v in KQ) == 2
    assert OV[4:6, 0:2] == sp.eye(2) / 4 and sum(abs(v) for v in OV) == sp.Rational(1, 2)
    assert R[2:4, 4:6] == sp.eye(2)
    dct = c.to_dict()
    assert dct["eta"] == ["1/4"] * 3 and dct["W_KQ"][0][4] == "-1" and dct["slots"]["W"] == [4, 6]


@pytest.mark.parametrize("kwargs,msg", [({"d": 1, "layers": 1, "eta": -1}, "eta must be > 0"),
                                        ({"d": 1, "layers": 2, "eta": [1, 2, 3]}, "one per layer"),
                                        ({"d": 13, "layers": 1}, "at most 12"),
                                        ({"d": 1, "layers": 0}, "layers must be")])
def test_bad_construction_is_one_clear_error(kwargs, msg):
    with pytest.raises(MarkovICLError, match=msg):
        NGDConstruction(**kwargs)
    with pytest.raises(MarkovICLError, match="binary"):
        NGDConstruction(1).embed_context((2,), 0)
    with pytest.raises(MarkovICLError, match="layer must be in 1..1"):
        NGDConstruction(1).W_OV(2)


@pytest.mark.parametrize("d", [1, 2])
def test_separable_agrees_with_a_grid_search_on_every_set_of_chain_types(d):
    _, U = chain_types(d)
    for size in range(1, len(U) + 1):
        for rows in combinations(range(len(U)), size):
            sub = U[list(rows)]
            ok, cert = separable(sub)
            assert ok == grid_separable(sub.tolist()), rows
            if ok:
                assert all(sum(int(u) * w for u, w in zip(row, cert)) > 0 for row in sub)
            else:
                assert min(cert) >= 0 and sum(cert) == 1
                assert all(sum(lam * int(row[a]) for lam, row in zip(cert, sub)) == 0 for a in range(sub.shape[1]))


def test_d1_separable_iff_labels_are_a_function_of_the_input():
    types, U = chain_types(1)
    for size in range(1, 5):
        for rows in combinations(range(4), size):
            xs = [types[i][0] for i in rows]
            consistent = len(set(xs)) == len(rows)  # no input with both labels
            assert separable(U[list(rows)])[0] == consistent


def test_module_constants():
    assert ngd.MAX_NGD_D == 12 and np.array_equal(chain_types(1)[1][0], [1, -1])
