"""`markov-icl objective`: JSON contract, theory §5 values, and bad input (one line, exit 2)."""

import json
import subprocess
import sys

import pytest
import sympy as sp

from markov_icl.cli import main
from markov_icl.oracles import objective_at_n

p, n = sp.symbols("p n", positive=True)


def run_json(capsys, *args):
    assert main(["objective", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_d1_symbolic_reproduces_spec5(capsys):
    res = run_json(capsys, "--d", "1")
    assert res["index"] == [[1, 1, 1], [1, 1, 2], [1, 2, 2]]
    assert res["p"] == "p" and res["n"] == "n"
    beta = [sp.sympify(b, locals={"p": p}) for b in res["beta"]]
    for got, want in zip(beta, [p**2 / 2, p**2 / 3, p**2 / 12 + p / 4]):
        assert sp.simplify(got - want) == 0
    xs = [sp.sympify(x, locals={"p": p, "n": n}) for x in res["X_star"]]
    assert [x.subs({p: sp.Rational(1, 2), n: 5}) for x in xs] == [sp.Rational(1, 6), sp.Rational(1, 2), sp.Rational(1, 2)]
    assert [x.subs({p: sp.Rational(1, 2), n: 10}) for x in xs] == [sp.Rational(4, 57), sp.Rational(52, 57), sp.Rational(8, 19)]
    f = sp.sympify(res["f_tilde_star"], locals={"p": p, "n": n})
    assert f.subs({p: sp.Rational(1, 2), n: 5}) == sp.Rational(35, 96)
    assert res["H_positive_definite"] is True


def test_d1_point(capsys):
    res = run_json(capsys, "--d", "1", "--p", "1/2", "--n", "5")
    assert res["X_star"] == ["1/6", "1/2", "1/2"]
    assert res["f_tilde_star"] == "35/96"
    assert res["p"] == "1/2" and res["n"] == "5" and res["d"] == 1
    assert res["H_positive_definite"] is True
    assert set(res) >= {"d", "p", "n", "index", "X_star", "beta", "E_y2", "f_tilde_star", "H_positive_definite"}


def test_symbolic_d4_has_null_x_star(capsys):
    """X*(p, n) is derived up to d = 3 (tests/symbolic/test_symbolic_d3.py); beyond it H, beta, E[y^2] only."""
    res = run_json(capsys, "--d", "4")
    assert res["X_star"] is None and res["f_tilde_star"] is None and res["degrees"] is None
    assert res["H_positive_definite"] is None
    assert len(res["beta"]) == 4 * 15 and len(res["index"]) == 60


def test_product_form_flag(capsys):
    a = run_json(capsys, "--d", "2", "--p", "1/2", "--n", "3")
    b = run_json(capsys, "--d", "2", "--p", "1/2", "--n", "3", "--product-form")
    assert b["form"] == "product" and a["X_star"] != b["X_star"]
    # oracle: both X* by SymPy's LU solve of H, beta from enumerating every prompt, each form on its own
    for res, product in ((a, False), (b, True)):
        H, beta, _ = objective_at_n(2, 3, "1/2", product_form=product)
        assert [sp.Rational(x) for x in res["X_star"]] == list(H.LUsolve(beta))


def test_table_output(capsys):
    assert main(["objective", "--d", "1", "--p", "1/2", "--n", "5"]) == 0
    out = capsys.readouterr().out
    assert "35/96" in out and "[1, 1, 2]" in out


BAD = [
    (["--d", "0"], "d"),
    (["--d", "1", "--p", "3/2"], "(0, 1)"),
    (["--d", "1", "--p", "0"], "(0, 1)"),
    (["--d", "1", "--n", "0"], "n"),
    (["--d", "1", "--p", "1/x"], "rational"),
    (["--d", "1", "--p", "0.3e"], "rational"),
    (["--d", "1", "--kernel", "beta:1,0,1,1"], "> 0"),
    (["--d", "1", "--kernel", "beta:1,1,1"], "allowed"),
    (["--d", "1", "--kernel", "fixed:1/2,3/2"], "[0, 1]"),
    (["--d", "1", "--kernel", "gauss"], "allowed"),
    (["--d", "1", "--init", "markov"], "allowed"),
    (["--d", "x"], "expected an integer"),
]


@pytest.mark.parametrize("args,needle", BAD)
def test_bad_input_one_line_exit_2(args, needle):
    proc = subprocess.run([sys.executable, "-m", "markov_icl", "objective", *args],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0] and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_a_singular_h_is_refused_not_called_a_minimiser():
    # a = c = 0: every chain is constant, features coincide, H is singular (oracle: its determinant is 0)
    from markov_icl.symbolic.laws import ChainLaw
    from markov_icl.symbolic.objective import ObjectiveTerms

    H, _, _ = ObjectiveTerms(2, ChainLaw.from_options("1/2", "fixed:0,0", "iid")).numeric(n=3)
    assert sp.Matrix(H.to_Matrix()).det() == 0
    proc = subprocess.run([sys.executable, "-m", "markov_icl", "objective", "--d", "2", "--p", "1/2", "--n", "3",
                           "--kernel", "fixed:0,0"], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == "" and len(proc.stderr.splitlines()) == 1
    assert "H is singular" in proc.stderr and "not unique" in proc.stderr


def test_check_minimiser_refuses_what_the_certificate_refutes():
    from markov_icl import MarkovICLError, solve
    from markov_icl.symbolic.certify import PDCertificate

    s = solve(1, "1/2", 5)
    s.certificate  # noqa: B018 - computed: True
    s.check_minimiser()
    s.__dict__["certificate"] = PDCertificate(False, "fraction-free LU (Sylvester)", detail="minor 2 is negative")
    with pytest.raises(MarkovICLError, match="not positive definite .*minor 2 is negative.*unbounded below"):
        s.check_minimiser()


def test_an_uncertified_h_is_said_to_be_uncertified():
    proc = subprocess.run([sys.executable, "-m", "markov_icl", "objective", "--d", "2", "--n", "3"],
                          capture_output=True, text=True)
    assert proc.returncode == 0
    assert "H positive definite: None" in proc.stdout
    assert "the minimiser and f~* the optimum only where H is positive definite" in proc.stdout
