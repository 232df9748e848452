"""`markov-icl objective --states S`: S-state chains with Dirichlet kernels (Lemma C.8, theory §8) on the command line.

Oracle: :func:`markov_icl.oracles.enumerate_multistate`, every state sequence of a tiny prompt,
Dirichlet moments by stick-breaking Beta integrals (no engine code).
"""

import json

import pytest
import sympy as sp

from markov_icl.cli import main
from markov_icl.oracles import enumerate_multistate, multistate_at_n
from markov_icl.symbolic.laws import ALPHA_SYMBOL

R = sp.Rational


def test_cli_objective_three_states(capsys):
    assert main(["objective", "--states", "3", "--kernel", "dirichlet:1", "--d", "1", "--n", "5", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["states"] == 3 and res["kernel"] == "dirichlet:1" and res["p"] is None
    assert res["index"] == [[1, 1, 1], [1, 1, 2], [1, 2, 2]]
    H, h, ey2 = multistate_at_n(3, 1, 5, 1)
    X = sp.Matrix([sp.Rational(x) for x in res["X_star"]])
    assert H * X == h  # the normal equations, with the oracle's H and h
    assert [sp.Rational(b) for b in res["beta"]] == list(h)
    assert sp.Rational(res["E_y2"]) == ey2
    assert sp.Rational(res["f_tilde_star"]) == ey2 - (h.T * X)[0]
    assert res["H_positive_definite"] is True


def test_cli_symbolic_alpha_d1(capsys):
    assert main(["objective", "--states", "3", "--kernel", "dirichlet:alpha", "--d", "1", "--n", "2", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    X = sp.Matrix([sp.sympify(x, locals={"alpha": ALPHA_SYMBOL}) for x in res["X_star"]])
    # oracle: H, h by enumerating every state sequence with symbolic Dirichlet moments (no engine code)
    H, h, _ = enumerate_multistate(3, 1, 2, ALPHA_SYMBOL)
    assert [sp.cancel(v) for v in H * X - h] == [0, 0, 0]


@pytest.mark.parametrize("args,needle", [
    (["--states", "1", "--kernel", "dirichlet:1"], "states"),
    (["--states", "3", "--kernel", "dirichlet:-1"], "alpha"),
    (["--states", "3", "--kernel", "dirichlet:0"], "alpha"),
    (["--states", "3", "--kernel", "uniform"], "dirichlet"),
    (["--states", "3", "--kernel", "dirichlet:"], "dirichlet"),
    (["--states", "3", "--kernel", "dirichlet:alpha", "--d", "2"], "d = 1"),
])
def test_cli_bad_input_one_line_exit_2(capsys, args, needle):
    argv = ["objective", "--n", "3", "--json", *args]
    if "--d" not in args:
        argv += ["--d", "1"]
    assert main(argv) == 2
    cap = capsys.readouterr()
    assert cap.out == ""
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("markov-icl: error:") and needle in lines[0]
