"""``markov-icl realize`` (issue 5 acceptance): JSON contract, the published values, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from markov_icl import solve
from markov_icl.cli import main
from markov_icl.oracles import closed_form_d1, min_over_A, objective_at_n, phi_by_definition, s1_matrix

KEYS = {"realizable", "discriminant", "discriminant_float", "f_tilde_star", "f_tilde_star_float", "X_star",
        "X_star_float", "f_star", "f_psi", "gap", "b", "A", "certificate"}


def run_json(capsys, *args):
    assert main(["realize", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_d1_p_half_n5_not_realisable_positive_gap(capsys):
    res = run_json(capsys, "--d", "1", "--p", "1/2", "--n", "5")
    assert KEYS <= set(res)
    assert res["realizable"] is False
    assert res["discriminant"] == "-1/12"
    assert res["discriminant_float"] == -1 / 12
    assert res["f_tilde_star"] == "35/96" and res["f_tilde_star_float"] == 35 / 96  # theory §5
    assert res["X_star"] == ["1/6", "1/2", "1/2"] and res["X_star_float"] == [1 / 6, 1 / 2, 1 / 2]
    assert res["gap"] > 2e-5
    assert res["f_tilde_star_float"] < res["f_star"] <= res["f_psi"]
    assert len(res["b"]) == 2 and len(res["A"]) == 2 and len(res["A"][0]) == 1
    assert "exact for d = 1" in res["certificate"] and "real roots" in res["certificate"]
    # oracle: theory §5's closed-form H, beta; f* by a scan of 20 000 directions b (least squares in A),
    # and the loss at the returned (b, A) with the hand-written phi
    H, beta, ey2, _, _ = closed_form_d1(sp.Rational(1, 2), 5)
    Hf, bf = np.array(H.tolist(), dtype=float), np.array(beta.tolist(), dtype=float)[:, 0]
    th = np.linspace(0, np.pi, 20000, endpoint=False)
    scan = float(min_over_A(Hf, bf, ey2, np.stack([np.cos(th), np.sin(th)], 1)).min())
    assert res["f_star"] <= scan + 1e-12 and scan - res["f_star"] < 1e-7
    x = np.array(phi_by_definition(res["b"], res["A"]), dtype=float)
    assert abs(0.5 - 2 * bf @ x + x @ Hf @ x - res["f_star"]) < 1e-12
    assert scan - 35 / 96 > 2e-5  # the gap, from the oracle alone


def test_d1_p_half_n10_realisable_zero_gap(capsys):
    res = run_json(capsys, "--d", "1", "--p", "1/2", "--n", "10")
    assert res["realizable"] is True
    assert res["discriminant"] == "2320/3249"
    assert abs(res["gap"]) < 1e-9
    # the returned (b, A) realise X* = (4/57, 52/57, 8/19)
    (b1, b2), ((a1,), (a2,)) = res["b"], res["A"]
    assert [b1 * a1, b1 * a2 + b2 * a1, b2 * a2] == pytest.approx([4 / 57, 52 / 57, 8 / 19], abs=1e-12)


@pytest.mark.parametrize("p,n", [("1/2", 5), ("1/4", 12), ("9/10", 40)])
def test_d2_never_realisable(capsys, p, n):
    res = run_json(capsys, "--d", "2", "--p", p, "--n", str(n), "--starts", "16")
    assert res["realizable"] is False and res["discriminant"] is None
    # oracle: S_1 from theory §3 is nonsingular, so X* (which equals the engine's exact solve) is not realisable
    X = solve(2, p, n).X_star
    assert [sp.Rational(x) for x in res["X_star"]] == list(X) and s1_matrix(X).det() != 0
    H, beta, _ = objective_at_n(2, n, p)  # oracle: X* from enumerating every prompt (SymPy's LU solve)
    assert list(X) == list(H.LUsolve(beta))
    assert res["gap"] > 1e-4 and res["f_star"] <= res["f_psi"] + 1e-12
    cert = res["certificate"]  # how f* was certified: starts, resolution, agreement of the best runs
    assert "16 starts" in cert and "deg of a start" in cert and "runs agree" in cert


@pytest.mark.parametrize("args", [["--d", "0", "--p", "1/2", "--n", "5"], ["--d", "1", "--p", "3/2", "--n", "5"],
                                  ["--d", "1", "--p", "0.5x", "--n", "5"], ["--d", "1", "--p", "1/2", "--n", "0"],
                                  ["--d", "1", "--p", "1/2", "--n", "5", "--starts", "0"],
                                  ["--d", "2", "--p", "1/2", "--n", "5", "--seed", "-1"]])
def test_bad_input_one_line_exit_2(capsys, args):
    assert main(["realize", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("markov-icl: error:") and "\n" not in err


def test_console_script_exit_status():
    proc = subprocess.run([sys.executable, "-m", "markov_icl", "realize", "--d", "1", "--p", "2", "--n", "5"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
