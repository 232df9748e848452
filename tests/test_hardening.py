"""Hostile input to the newer surface (evaluate, derive dynamics, optimum, dynamics, the Python API): every class
of failure found by probing is one clear line and exit status 2 (a MarkovICLError in Python), within seconds, with
no traceback and no NaN or infinity printed; each class is tested with at least two instances.

Oracles: files written here with torch and NumPy whose content the test fixes (their exact values known), pdflatex,
the numeric exact optimum of a parameterization against its symbolic one evaluated at the same point (two solvers:
python-flint over QQ and a fraction-field LU), and the loss of a model trained by ``verify --save`` as verify itself
reports it.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shutil
import time

import numpy as np
import pytest
import sympy as sp
import torch

import markov_icl as mi
from markov_icl import MarkovICLError
from markov_icl.cli import main

HAS_LATEX = shutil.which("pdflatex") is not None
t_sym = sp.Symbol("t")


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


def assert_refused(argv: list[str], match: str = "", seconds: float = 10.0) -> str:
    """Exit 2, one ``markov-icl: error:`` line (notes aside), no traceback, no nan / inf, within ``seconds``."""
    t0 = time.perf_counter()
    status, out, err = run_cli(argv)
    took = time.perf_counter() - t0
    lines = [ln for ln in err.splitlines() if not ln.startswith("markov-icl: note:")]
    assert status == 2, (status, out[-300:], err[-500:])
    assert len(lines) == 1 and lines[0].startswith("markov-icl: error: "), err
    assert "Traceback" not in err and not re.search(r"\b(nan|inf|Infinity)\b", out, re.I)
    assert match in lines[0], lines[0]
    assert took < seconds, f"{took:.1f} s"
    return lines[0]


# ----------------------------------------------------------------------------- evaluate: saved files

P_OK = np.array([[0.0, 0.0], [0.0, 1.0]])
Q_OK = np.array([[10 / 7, 0.0], [0.0, 0.0]])


def _pt(path, **tensors):
    torch.save(tensors, path)
    return path


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


EVALUATE = ["--d", "1", "--p", "1/2", "--n", "5"]

# each: (file maker, the words of the refusal)
DTYPES = {
    "complex64 tensor (imaginary part would be dropped)": (
        lambda p: _pt(p / "m.pt", P=torch.tensor(P_OK).to(torch.complex64) + 1j, Q=torch.tensor(Q_OK)), "complex64"),
    "complex128 array": (lambda p: _npz(p / "m.npz", P=P_OK.astype(complex), Q=Q_OK), "complex128"),
    "float8 tensor": (lambda p: _pt(p / "m.pt", P=torch.tensor(P_OK), Q=torch.tensor(Q_OK).to(torch.float8_e4m3fn)),
                      "float8"),
    "bool array": (lambda p: _npz(p / "m.npz", P=P_OK.astype(bool), Q=Q_OK), "bool"),
    "longdouble array": (lambda p: _npz(p / "m.npz", P=P_OK.astype(np.longdouble), Q=Q_OK), "float128"),
    "string array": (lambda p: _npz(p / "m.npz", P=np.array([["a", "b"], ["c", "d"]]), Q=Q_OK), "<U1"),
    "datetime array (a loss of 1.6e17 before)": (lambda p: _npz(p / "m.npz", P=np.array(
        [["2020-01-01", "2020-01-02"]] * 2, dtype="datetime64[D]"), Q=Q_OK), "datetime64"),
    "structured array": (lambda p: _npz(p / "m.npz", P=np.zeros(2, dtype=[("a", "f8"), ("b", "f8")]), Q=Q_OK),
                         "dtype"),
    "object array": (lambda p: _npz(p / "m.npz", P=np.array([[1, None], [0, 1]], dtype=object), Q=Q_OK), "object"),
}

LAYOUTS = {
    "sparse COO": (lambda p: _pt(p / "m.pt", P=torch.tensor(P_OK).to_sparse(), Q=torch.tensor(Q_OK)), "sparse_coo"),
    "sparse CSR": (lambda p: _pt(p / "m.pt", P=torch.tensor(P_OK).to_sparse_csr(), Q=torch.tensor(Q_OK)), "sparse_csr"),
    "meta": (lambda p: _pt(p / "m.pt", P=torch.zeros(2, 2, device="meta"), Q=torch.zeros(2, 2, device="meta")),
             "meta device"),
    "quantized": (lambda p: _pt(p / "m.pt", P=torch.quantize_per_tensor(torch.zeros(2, 2), 0.1, 0, torch.qint8),
                                Q=torch.tensor(Q_OK)), "quantized"),
}

SHAPES = {
    "0-d tensors": (lambda p: _pt(p / "m.pt", P=torch.tensor(1.0), Q=torch.tensor(2.0)), "0-d array"),
    "0-d arrays": (lambda p: _npz(p / "m.npz", P=np.array(1.0), Q=np.array(2.0)), "0-d array"),
    "empty arrays": (lambda p: _npz(p / "m.npz", P=np.zeros((0, 0)), Q=np.zeros((0, 0))), "empty array"),
    "3-d tensors": (lambda p: _pt(p / "m.pt", P=torch.zeros(2, 2, 2), Q=torch.zeros(2, 2, 2)), "3-d array"),
    "an array of 10^5 entries": (lambda p: _npz(p / "m.npz", P=np.zeros((400, 250)), Q=np.zeros((2, 2))), "entries"),
}


def _sized(path, size: int):
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


FILES = {
    "a zero-byte .pt": (lambda p: _sized(p / "m.pt", 0), "empty file"),
    "a zero-byte .npz": (lambda p: _sized(p / "m.npz", 0), "empty file"),
    "a 20 MB .pt": (lambda p: _sized(p / "m.pt", 20 * 2**20), "at most"),
    "a .npy renamed .npz": (lambda p: (np.save(p / "m.npy", P_OK), os.replace(p / "m.npy", p / "m.npz"), p / "m.npz")[2],
                            "not an .npz"),
    "text in a .pt": (lambda p: (p / "m.pt").write_text("hello") and p / "m.pt", "not a torch.save zip archive"),
    "a bare tensor, not a dict": (lambda p: (torch.save(torch.zeros(2, 2), p / "m.pt"), p / "m.pt")[1], "a dict of"),
    "a folder": (lambda p: ((p / "m.pt").mkdir(), p / "m.pt")[1], "not a regular file"),
    "a FIFO (never opened)": (lambda p: (os.mkfifo(p / "m.pt"), p / "m.pt")[1], "not a regular file"),
    "a missing file": (lambda p: p / "absent.npz", "no such file"),
}


@pytest.mark.parametrize("case", list(DTYPES))
def test_evaluate_refuses_other_dtypes(tmp_path, case):
    make, words = DTYPES[case]
    assert_refused(["evaluate", make(tmp_path), *EVALUATE], words)


@pytest.mark.parametrize("case", list(LAYOUTS))
def test_evaluate_refuses_other_layouts(tmp_path, case):
    make, words = LAYOUTS[case]
    assert_refused(["evaluate", make(tmp_path), *EVALUATE], words)


@pytest.mark.parametrize("case", list(SHAPES))
def test_evaluate_refuses_other_shapes(tmp_path, case):
    make, words = SHAPES[case]
    assert_refused(["evaluate", make(tmp_path), *EVALUATE], words)


@pytest.mark.parametrize("case", list(FILES))
def test_evaluate_refuses_files_that_are_not_model_files(tmp_path, case):
    make, words = FILES[case]
    assert_refused(["evaluate", make(tmp_path), *EVALUATE], words)


@pytest.mark.parametrize("scale", [1e100, 1e200])
@pytest.mark.parametrize("json_out", [False, True])
def test_a_loss_beyond_float64_is_refused_not_printed_as_inf(tmp_path, scale, json_out):
    path = _npz(tmp_path / "m.npz", P=P_OK * scale, Q=Q_OK * scale)
    line = assert_refused(["evaluate", path, *EVALUATE, *(["--json"] if json_out else [])], "beyond the range of float64")
    assert f"10^{4 * round(math.log10(scale)) - 1}" in line  # |f| ~ X^T H X ~ scale^4 / 10


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_weights_are_read_at_their_exact_values(tmp_path, dtype):
    """bfloat16 and float16 are accepted: every value is exact in float64, so the loss equals that of the
    same values saved as float64 (written here by hand from the rounded tensor)."""
    P, Q = torch.tensor(P_OK).to(dtype), torch.tensor(Q_OK).to(dtype)
    _pt(tmp_path / "half.pt", P=P, Q=Q)
    _npz(tmp_path / "wide.npz", P=P.double().numpy(), Q=Q.double().numpy())
    outs = []
    for name in ("half.pt", "wide.npz"):
        status, out, err = run_cli(["evaluate", tmp_path / name, *EVALUATE, "--json"])
        assert status == 0, err
        outs.append(json.loads(out))
    assert outs[0]["loss_exact"] == outs[1]["loss_exact"]
    assert outs[0]["A"][0][0] != 10 / 7 and outs[0]["A"][0][0] == float(Q[0, 0])  # the rounded value, exactly


def test_every_accepted_dtype_is_read(tmp_path):
    """The other side of the rule: each dtype of ACCEPTED_DTYPES that NumPy or torch can save is read, and an
    integer array gives the loss of its integer values."""
    from markov_icl.numeric.evaluate import ACCEPTED_DTYPES, check_array

    for name in ACCEPTED_DTYPES:
        if name == "bfloat16":
            a = torch.tensor([[1.0, 2.0]], dtype=torch.bfloat16)
        elif name.startswith("uint") and not hasattr(torch, name):
            a = np.array([[1, 2]], dtype=name)
        else:
            a = torch.tensor([[1, 2]], dtype=getattr(torch, name))
        assert check_array(name, a).tolist() == [[1.0, 2.0]], name
    with pytest.raises(MarkovICLError, match="2\\^53"):
        check_array("P", np.array([2**60, 1]))
    _npz(tmp_path / "int.npz", P=np.array([[0, 0], [0, 1]]), Q=np.array([[2, 0], [0, 0]]))
    status, out, _ = run_cli(["evaluate", tmp_path / "int.npz", *EVALUATE, "--json"])
    # X = (b_1 A_11, b_1 A_21 + b_2 A_11, b_2 A_21) = (0, 2, 0): f~ = 1/2 - 2 * 2 beta_2 + 4 H_22 at p = 1/2, n = 5
    # (theory §5: beta_2 = p^2/3 = 1/12, H_22 = p^2 (3 + 2 (n-1) p) / (6n) = 7/120)
    assert status == 0 and json.loads(out)["loss_exact"] == str(sp.Rational(1, 2) - 4 * sp.Rational(1, 12)
                                                                + 4 * sp.Rational(7, 120))


@pytest.mark.parametrize("d", [2, 3])
def test_a_gd_model_saved_by_verify_is_read_back_at_its_d(tmp_path, d):
    """``verify --param gd --save`` at d >= 2 and ``evaluate --param gd`` at the same d: the same exact loss
    (theta of gd has one entry at every d, so d comes from --d, not from theta's length)."""
    path = tmp_path / "gd.pt"
    args = ["--d", str(d), "--p", "1/2", "--n", "10"]
    status, out, err = run_cli(["verify", *args, "--param", "gd", "--steps", "20", "--batch", "32", "--mc-samples",
                                "64", "--save", path, "--json"])
    assert status == 0, err
    trained = json.loads(out)
    status, out, err = run_cli(["evaluate", path, *args, "--param", "gd", "--json"])
    assert status == 0, err
    ev = json.loads(out)
    assert ev["d"] == d and len(ev["b"]) == d + 1
    assert abs(ev["loss_float"] - trained["trained_loss_exact"]) <= 1e-12
    with pytest.raises(MarkovICLError, match="every d"):  # without d the length of theta cannot say it
        mi.loss_of({"theta": torch.tensor([0.5])}, mi.ChainLaw.default("1/2"), n=10, param="gd")


# ----------------------------------------------------------------------------- derive dynamics at valid points


@pytest.mark.parametrize("n", ["1", "5"])
def test_derive_dynamics_compiles_at_other_points(tmp_path, n):
    """n = 1 and n = 5 (X* not realisable: the other branch of the document) render valid LaTeX: no doubled
    backslash before a command in the math, and pdflatex compiles it where it is installed."""
    status, out, err = run_cli(["derive", "dynamics", "--n", n, "--out", tmp_path])
    assert status == 0, err
    tex = (tmp_path / "dynamics.tex").read_text()
    maths = re.findall(r"\\\[(.*?)\\\]", tex, re.S)
    assert maths and not [m for m in maths if re.search(r"(?<!\\)\\\\[A-Za-z]", m)]  # "\\approx": a line break
    if HAS_LATEX:
        assert (tmp_path / "dynamics.pdf").read_bytes()[:5] == b"%PDF-"


# ----------------------------------------------------------------------------- optimum with p or n symbolic


@pytest.mark.parametrize("argv, words", [
    (["--param", "ahn", "--d", "3"], "limit 2 with p and n symbolic"),
    (["--param", "zfb", "--d", "4", "--p", "1/2"], "limit 3 with p or n symbolic"),
    (["--param", "gd", "--d", "5", "--n", "10", "--max-d", "5"], "derived up to d = 4"),
    (["--param", "dense", "--d", "3"], "needs numeric p and n"),
    (["--param", "sparse", "--d", "2", "--p", "1/3"], "needs numeric p and n"),
])
def test_optimum_with_symbolic_p_or_n_is_limited_up_front(argv, words):
    assert_refused(["optimum", *argv], words, seconds=5)


@pytest.mark.parametrize("param, point, symbolic_args", [
    ("ahn", {"p": sp.Rational(1, 2), "n": 10}, []),
    ("gd", {"p": sp.Rational(1, 3), "n": 20}, ["--n", "20"]),
])
def test_the_symbolic_optimum_at_a_point_is_the_numeric_one(param, point, symbolic_args):
    """The fraction-field least squares (symbolic p and/or n) evaluated at a point equals the exact rational
    least squares there (python-flint over QQ)."""
    status, out, err = run_cli(["optimum", "--param", param, "--d", "2", *symbolic_args, "--json"])
    assert status == 0, err
    sym = json.loads(out)
    status, out, err = run_cli(["optimum", "--param", param, "--d", "2", "--p", str(point["p"]), "--n",
                                str(point["n"]), "--no-f-star", "--json"])
    num = json.loads(out)
    subs = {sp.Symbol("p"): point["p"], sp.Symbol("n"): point["n"]}
    assert sp.sympify(sym["f_param_star"]).xreplace(subs) == sp.Rational(num["f_param_star"])
    assert [sp.sympify(t).xreplace(subs) for t in sym["theta_star"]] == [sp.Rational(t) for t in num["theta_star"]]
    if param == "ahn":
        assert num["f_param_star"] == "190259953547/702167785614"  # docs/commands.md, optimum


# ----------------------------------------------------------------------------- dynamics: --lr against --time


@pytest.mark.parametrize("argv", [["--lr", "2", "--time", "1"], ["--lr", "1e300", "--time", "1"],
                                  ["--lr", "1e5"]])
def test_dynamics_lr_longer_than_the_flow_time_is_refused(tmp_path, argv):
    assert_refused(["dynamics", *argv, "--out", tmp_path / "o"], "--lr", seconds=30)
    assert not (tmp_path / "o" / "dynamics.csv").exists()


# ----------------------------------------------------------------------------- the Python API

_P = sp.ImmutableMatrix([[0, 0], [0, 1]])


def _par(q00, p11=1):
    return mi.Parameterization("x", 1, sp.ImmutableMatrix([[0, 0], [0, p11]]), sp.ImmutableMatrix([[q00, 0], [0, 0]]),
                               (t_sym,))


NAN, INF = float("nan"), float("inf")

API = {
    # parameterizations: entries must be polynomials in the params with rational coefficients
    "Parameterization with sin(t)": lambda: _par(sp.sin(t_sym)),
    "Parameterization with oo": lambda: _par(t_sym, sp.oo),
    "Parameterization with I": lambda: _par(t_sym, sp.I),
    "Parameterization with a float": lambda: _par(t_sym, 0.5),
    "Parameterization with d a string": lambda: mi.Parameterization("x", "1", _P, _P, ()),
    "Parameterization with params a string": lambda: mi.Parameterization("x", 1, _P, _P, "t"),
    "optimum of a string solution": lambda: mi.optimum(param="gd", solution="x"),
    "optimum of an int param": lambda: mi.optimum(param=3, solution=mi.solve(1, "1/2", 5)),
    "PopulationLoss of a string": lambda: mi.PopulationLoss(mi.preset("gd", 1), "x"),
    "PopulationLoss at a symbolic point": lambda: mi.PopulationLoss(mi.preset("gd", 1), mi.solve(1, None, 5)),
    # exact inputs
    "solve with sqrt(2)/2": lambda: mi.solve(1, sp.sqrt(2) / 2, 5),
    "solve with pi/4": lambda: mi.solve(1, sp.pi / 4, 5),
    "KernelLaw of an unknown kind": lambda: mi.KernelLaw("x"),
    "InitLaw correlated without moments": lambda: mi.InitLaw("correlated"),
    "DirichletKernel with one state": lambda: mi.DirichletKernel(1, 1),
    "DirichletKernel with alpha -1": lambda: mi.DirichletKernel(3, -1),
    "Index(0)": lambda: mi.Index(0),
    # points of the enlarged space
    "realize [nan] * 3": lambda: mi.realize([NAN] * 3, d=1),
    "realize [inf] * 3": lambda: mi.realize([INF] * 3, d=1),
    "realize strings": lambda: mi.realize(["a"] * 3, d=1),
    "realize a symbol": lambda: mi.realize([t_sym, 1, 1], d=1),
    "psi [nan] * 3": lambda: mi.psi([NAN] * 3, 1),
    "Solution.loss at nan": lambda: mi.solve(1, "1/2", 5).loss([NAN, 1], [[1], [1]]),
    "f_tilde of the wrong length": lambda: mi.f_tilde([1, 2], sp.eye(3), [1, 1, 1], 1),
    "lsa_layer of mismatched lists": lambda: mi.lsa_layer([[1]], [[1]], [[1]]),
    "best_one_layer with starts a string": lambda: mi.best_one_layer(mi.solve(1, "1/2", 5), starts="x"),
    # sizes: bounded memory
    "sample_prompts 10^6 x 10^6": lambda: mi.sample_prompts(mi.ChainLaw.default("1/2"), 1, 10**6, 10**6),
    "sample_gaussian_prompts 10^6 x 10^6": lambda: mi.sample_gaussian_prompts(mi.GaussianLaw((1,)), 1, 10**6, 10**6),
    "sample_multistate 10^6 x 10^6": lambda: mi.sample_multistate(3, 1, 10**6, 10**6),
    "estimate_objective 10^12 samples": lambda: mi.estimate_objective(mi.ChainLaw.default("1/2"), 1, 5, 10**12),
    "train with a batch of 10^9": lambda: mi.train(mi.DenseLSA(1), mi.ChainLaw.default("1/2"), 1, 5, steps=1,
                                                   batch=10**9, lr=0.1, progress=False),
    # models
    "DenseLSA init_scale nan": lambda: mi.DenseLSA(1, init_scale=NAN),
    "SparseLSA init_scale inf": lambda: mi.SparseLSA(1, init_scale=INF),
    "ParamLSA init_scale nan": lambda: mi.ParamLSA(mi.preset("gd", 1), init_scale=NAN),
    "DenseLSA seed -1": lambda: mi.DenseLSA(1, seed=-1),
    "train a string": lambda: mi.train("x", mi.ChainLaw.default("1/2"), 1, 5, steps=1, batch=4, lr=0.1),
    "estimate_loss of a string": lambda: mi.estimate_loss("x", mi.ChainLaw.default("1/2"), 1, 5, 10),
    # trajectories
    "integrate_flow from nan": lambda: mi.integrate_flow(lambda th: th, np.array([NAN, 1.0]), 1.0, [0.0, 1.0]),
    "integrate_flow with a nan gradient": lambda: mi.integrate_flow(lambda th: th * NAN, [1.0, 1.0], 1.0, [0.0, 1.0]),
    "integrate_flow past t_end": lambda: mi.integrate_flow(lambda th: th, [1.0], 1.0, [0.0, 2.0]),
    "integrate_flow from a string": lambda: mi.integrate_flow(lambda th: th, "x", 1.0, [0.0, 1.0]),
    "loss_of nan weights": lambda: mi.loss_of((np.full((2, 2), NAN), np.zeros((2, 2))), mi.ChainLaw.default("1/2"),
                                              d=1, n=5),
    "loss_of string weights": lambda: mi.loss_of({"b": ["a", "b"], "A": [[1], [1]]}, mi.ChainLaw.default("1/2"), n=5),
}


@pytest.mark.parametrize("case", list(API))
def test_the_python_api_raises_one_clear_markov_icl_error(case):
    t0 = time.perf_counter()
    with pytest.raises(MarkovICLError) as info:
        API[case]()
    assert "\n" not in str(info.value) and 10 < len(str(info.value)) < 400, str(info.value)
    assert time.perf_counter() - t0 < 10


def test_parameterization_accepts_lists_as_matrices():
    g = mi.Parameterization("g", 1, [[0, 0], [0, 1]], ((t_sym, 0), (0, 0)), (t_sym,))
    assert isinstance(g.P, sp.ImmutableMatrix) and g.phi() == [0, t_sym, 0]
    assert mi.optimum(param=g, solution=mi.solve(1, "1/2", 5)).theta_star == (sp.Rational(10, 7),)  # zfb's W11* at n = 5
