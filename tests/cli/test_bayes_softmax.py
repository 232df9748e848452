"""``markov-icl bayes``, ``markov-icl softmax`` and ``realize --constant-input``: JSON contracts, values against
independent oracles, bad input as one line and exit status 2."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from markov_icl.cli import main
from markov_icl.oracles import objective_at_n
from markov_icl.oracles.bayes import enumerate_bayes, enumerate_softmax_loss


def run_json(capsys, *args):
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_bayes_json_matches_enumeration(capsys):
    res = run_json(capsys, "bayes", "--d", "2", "--p", "1/3", "--n", "2")
    oracle = enumerate_bayes(2, 2, sp.Rational(1, 3))
    assert sp.Rational(res["bayes_risk"]) == oracle["risk"]
    assert res["bayes_risk_float"] == float(Fraction(res["bayes_risk"]))
    assert sp.Rational(res["bayes_accuracy"]) == oracle["accuracy"]
    assert {"bayes_risk", "bayes_risk_float", "bayes_accuracy", "bayes_accuracy_float", "variance", "count_vectors",
            "method"} <= set(res)


def test_bayes_text_and_multistate(capsys):
    assert main(["bayes", "--d", "1", "--n", "2", "--states", "3", "--kernel", "dirichlet:1"]) == 0
    out = capsys.readouterr().out
    assert "Bayes risk (squared loss)" in out and str(enumerate_bayes(1, 2, prior=1, S=3)["risk"]) in out


def test_bayes_symbolic_p_is_a_polynomial(capsys):
    res = run_json(capsys, "bayes", "--d", "1", "--n", "2")
    poly = sp.sympify(res["bayes_risk"])
    assert sp.expand(poly.subs(sp.Symbol("p"), sp.Rational(1, 2))) == sp.Rational(65, 288)
    assert res["bayes_risk_float"] is None


@pytest.mark.parametrize("args, match", [
    (["bayes", "--d", "1", "--p", "3/2", "--n", "3"], "open interval"),
    (["bayes", "--d", "1", "--p", "1/2", "--n", "3", "--init", "correlated:1/5,1/5,1/10"], "three of its moments"),
    (["bayes", "--d", "3", "--p", "1/2", "--n", "400"], "count vectors"),
    (["bayes", "--d", "1", "--p", "1/2", "--n", "0"], "n"),
    (["bayes", "--d", "1", "--p", "1/2", "--n", "3", "--states", "3", "--kernel", "dirichlet:1"], "leave p out"),
    (["softmax", "--d", "3", "--p", "1/2", "--n", "60"], "at most"),
    (["softmax", "--d", "1", "--p", "1/2", "--n", "3", "--flow", "-1"], "--flow"),
    (["softmax", "--d", "1", "--p", "1/2", "--n", "3", "--out", "/tmp/x"], "--flow"),
    (["realize", "--d", "1", "--p", "1/2", "--n", "5", "--kernel", "beta:1,2,1,1"], "--constant-input"),
])
def test_bad_input_is_one_line_exit_2(capsys, args, match):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and match in err and "Traceback" not in err


def test_softmax_json_against_enumeration_and_bayes(capsys):
    res = run_json(capsys, "softmax", "--d", "1", "--p", "1/2", "--n", "3", "--starts", "3")
    Q = np.array(res["Q_star"])
    assert res["f_softmax_star"] == pytest.approx(enumerate_softmax_loss(1, 3, Q, p=sp.Rational(1, 2)), abs=1e-12)
    assert float(sp.Rational(res["loss_at_zero"])) == pytest.approx(
        enumerate_softmax_loss(1, 3, np.zeros((2, 2)), p=sp.Rational(1, 2)), abs=1e-14)
    assert res["bayes_risk_float"] < res["f_softmax_star"] < res["loss_at_zero_float"]
    assert {"f_softmax_star", "Q_star", "loss_at_zero", "f_softmax_star_interval", "attention"} <= set(res)


def test_softmax_flow_writes_csv_and_figure(capsys, tmp_path):
    assert main(["softmax", "--d", "1", "--p", "1/2", "--n", "4", "--starts", "2", "--flow", "2000", "--out",
                 str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "gradient flow from Q = 0" in out and "attention_50pct" in out
    rows = (tmp_path / "flow.csv").read_text().splitlines()
    assert rows[0].startswith("t,loss,attention_exact") and len(rows) > 100
    assert (tmp_path / "flow.png").stat().st_size > 10_000


def test_realize_constant_input_against_enumeration(capsys):
    """f~* with the constant input from an independent enumeration of the augmented features (least squares on the
    oracle's H, which is singular: z_u^2 = z_u)."""
    res = run_json(capsys, "realize", "--d", "1", "--p", "1/2", "--n", "3", "--constant-input")
    H, beta, ey2 = objective_at_n(1, 3, sp.Rational(1, 2), constant_input=True)
    X = H.pinv() * beta
    f = ey2 - (beta.T * X)[0]
    assert sp.Rational(res["f_tilde_star"]) == sp.nsimplify(f)
    assert res["rank"] == H.rank() == 8 and res["dm"] == 12
    assert res["f_tilde_star_float"] <= res["f_star"] + 1e-12 <= res["f_star_plain"] + 1e-12
    assert res["f_tilde_star_float"] < res["f_tilde_star_plain_float"]
