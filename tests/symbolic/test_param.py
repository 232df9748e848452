"""One-layer parameterizations (markov_icl.symbolic.param) and `markov-icl optimum` / `evaluate`.

Oracles: H, beta, E[y^2] from enumerating every prompt (tests/oracles, not the engine's moment
tables) with each preset's design written out by hand from its paper's formula (not through
Parameterization.design), solved by SymPy's LU; phi by its definition (explicit loops); the
exact least-squares optimality (any perturbation of theta* raises the exact loss); the
chain f~* <= f* <= f_param* with f* from the engine's certified search; torch models' own
forward passes against the exact loss of their weights.
"""

import json

import numpy as np
import pytest
import sympy as sp
import torch

from markov_icl import ChainLaw, DenseLSA, SparseLSA, solve
from markov_icl.cli import main
from markov_icl.errors import MarkovICLError
from markov_icl.numeric.evaluate import loss_of
from markov_icl.oracles import feature_index, objective_at_n, phi_by_definition
from markov_icl.symbolic.param import LINEAR_PRESETS, PRESETS, Parameterization, optimum, preset

R = sp.Rational


def hand_design(name: str, d: int) -> sp.Matrix:
    """The design M (X = M theta) of a linear preset, from its formula: yhat = sum_j x_qj sum_u c_{u,j} G_{u,d+1}
    with c = -Q0^T (ahn), W11 (zfb), eta I (gd); the column order is the preset's parameter order (row-major)."""
    idx = feature_index(d)
    row = {ix: r for r, ix in enumerate(idx)}
    cols = []
    if name == "gd":
        col = [0] * len(idx)
        for j in range(1, d + 1):
            col[row[(j, j, d + 1)]] = 1
        cols.append(col)
    else:
        for a in range(1, d + 1):  # parameter (a, b) of Q0 or W11, row-major
            for b in range(1, d + 1):
                col = [0] * len(idx)
                if name == "ahn":   # c_{u,j} = -Q0_{j,u}: parameter Q0_{a,b} sits at j = a, u = b
                    col[row[(a, b, d + 1)]] = -1
                else:               # zfb: c_{u,j} = W11_{u,j}: parameter W11_{a,b} sits at u = a, j = b
                    col[row[(b, a, d + 1)]] = 1
                cols.append(col)
    return sp.Matrix(cols).T


@pytest.mark.parametrize("d,n", [(1, 5), (1, 10), (2, 5), (2, 10)])
def test_linear_presets_against_enumeration(d, n):
    sol = solve(d, "1/2", n)
    H, beta, ey2 = objective_at_n(d, n, R(1, 2))
    values = {}
    for name in LINEAR_PRESETS:
        opt = optimum(param=name, solution=sol, with_f_star=False)
        M = hand_design(name, d)
        assert preset(name, d).design()[0] == M
        theta = (M.T * H * M).LUsolve(M.T * beta)
        f = ey2 - (beta.T * M * theta)[0]
        assert opt.theta_star == tuple(theta) and opt.f_param_star == f, name
        # optimality: moving any parameter by 1/1000 raises the exact loss
        for k in range(M.shape[1]):
            th = sp.Matrix(opt.theta_star)
            th[k] += R(1, 1000)
            X = list(M * th)
            assert sol.f_tilde(X) > opt.f_param_star
        values[name] = opt.f_param_star
    assert values["ahn"] == values["zfb"]            # one family: W11 = -Q0^T
    assert values["gd"] >= values["ahn"]             # gd is the sub-family Q0 = -eta I
    assert (values["gd"] == values["ahn"]) == (d == 1)
    assert sol.f_tilde_star < values["ahn"]


@pytest.mark.parametrize("d", [1, 2])
def test_chain_of_inequalities(d):
    sol = solve(d, "1/2", 10)
    opts = {name: optimum(param=name, solution=sol) for name in PRESETS}
    fstar = opts["dense"].f_star
    for name, opt in opts.items():
        assert opt.chain_holds(), name
        assert float(sol.f_tilde_star) <= fstar + 1e-12 <= float(opt.f_param_star) + 2e-12
    assert opts["dense"].f_param_star == opts["sparse"].f_param_star == fstar
    assert opts["dense"].theta_star is None and opts["gd"].theta_star is not None


def test_phi_of_presets_matches_the_definition():
    for name in PRESETS:
        par = preset(name, 2)
        X = par.phi()
        want = phi_by_definition(par.b, par.A)
        assert [sp.expand(x - w) for x, w in zip(X, want)] == [0] * len(X), name
    assert not preset("dense", 2).is_linear and not preset("sparse", 1).is_linear
    assert all(preset(nm, 3).is_linear for nm in LINEAR_PRESETS)


def test_gd_symbolic_step_and_loss():
    """d = 1, p and n symbolic: eta*(p, n) exact; it agrees with the numeric route at two points."""
    sym = optimum(1, param="gd")
    (eta,) = sym.theta_star
    from markov_icl.symbolic.laws import N_SYMBOL as n
    from markov_icl.symbolic.laws import P_SYMBOL as p

    assert sp.simplify(eta - 2 * n / (2 * n * p - 2 * p + 3)) == 0
    for pv, nv in ((R(1, 2), 10), (R(1, 3), 7)):
        num = optimum(1, pv, nv, param="gd", with_f_star=False)
        assert eta.subs({p: pv, n: nv}) == num.theta_star[0]
        assert sp.simplify(sym.f_param_star.subs({p: pv, n: nv}) - num.f_param_star) == 0


def test_custom_parameterization_tied_entries():
    """A user's parameterization: b = e_{d+1} fixed and A = [[t, t], [s, 0], [0, 0]] with t tied across two
    entries; its exact optimum is a least-squares problem in (t, s), checked against SymPy's solve of the
    stationarity equations of the enlarged-space loss."""
    t, s = sp.symbols("t s", real=True)
    P = sp.zeros(3, 3)
    P[2, 2] = 1
    Q = sp.zeros(3, 3)
    Q[0, 0], Q[0, 1], Q[1, 0] = t, t, s
    par = Parameterization("tied", 2, sp.ImmutableMatrix(P), sp.ImmutableMatrix(Q), (t, s))
    sol = solve(2, "1/2", 5)
    opt = optimum(param=par, solution=sol, with_f_star=False)
    loss = sol.f_tilde(par.phi())
    crit = sp.solve([sp.diff(loss, t), sp.diff(loss, s)], [t, s], dict=True)[0]
    assert opt.theta_star == (crit[t], crit[s])
    with pytest.raises(MarkovICLError, match="not among its params"):
        Parameterization("bad", 2, sp.ImmutableMatrix(P), sp.ImmutableMatrix(Q), (t,))
    with pytest.raises(MarkovICLError, match="unknown parameterization"):
        preset("transformer", 1)


# ----------------------------------------------------------------------------- evaluate / loss_of

def _forward_loss(model, d, n, batch=200_000, seed=7):
    """A Monte Carlo estimate of the model's loss from its own forward pass (mean and standard error)."""
    from markov_icl import sample_prompts

    pb = sample_prompts(ChainLaw.default("1/2"), d=d, n=n, batch=batch, seed=seed)
    with torch.no_grad():
        err = (model(pb.Z0) - pb.y) ** 2
    return float(err.mean()), float(err.std() / batch**0.5)


@pytest.mark.parametrize("cls", [DenseLSA, SparseLSA])
def test_loss_of_matches_the_forward_pass(cls):
    m = cls(2, seed=1) if cls is SparseLSA else cls(2, layers=1, seed=1)
    res = loss_of(m, ChainLaw.default("1/2"), d=2, n=5)
    mean, se = _forward_loss(m, 2, 5)
    assert abs(res.f_tilde_float - mean) < 5 * se
    assert res.f_tilde == solve(2, "1/2", 5).f_tilde([sp.Rational(*float(x).as_integer_ratio()) for x in
                                                     phi_by_definition(res.b.tolist(), res.A.tolist())]) or \
        abs(res.f_tilde_float - float(solve(2, "1/2", 5).f_tilde(res.X))) < 1e-12


def test_evaluate_cli_on_saved_files(tmp_path, capsys):
    m = DenseLSA(1, seed=3)
    pt, npz = tmp_path / "m.pt", tmp_path / "m.npz"
    torch.save(m.state_dict(), pt)
    np.savez(npz, P=m.P[0].detach().numpy(), Q=m.Q[0].detach().numpy())
    outs = []
    for f in (pt, npz):
        assert main(["evaluate", str(f), "--d", "1", "--p", "1/2", "--n", "5", "--param", "gd", "--json"]) == 0
        outs.append(json.loads(capsys.readouterr().out))
    assert outs[0]["loss_exact"] == outs[1]["loss_exact"]
    want = loss_of(m, ChainLaw.default("1/2"), 1, 5)
    assert outs[0]["loss_exact"] == str(want.f_tilde) and outs[0]["f_tilde_star"] == "35/96"
    assert outs[0]["f_param_star"] == "8/21" and abs(outs[0]["gap_param"] - (want.f_tilde_float - 8 / 21)) < 1e-15
    # the read-out sign: -1 is the loss of the negated model
    assert main(["evaluate", str(npz), "--d", "1", "--p", "1/2", "--n", "5", "--sign", "-1", "--json"]) == 0
    neg = json.loads(capsys.readouterr().out)
    from markov_icl.numeric.lsa import Negated

    mean, se = _forward_loss(Negated(m), 1, 5)
    assert abs(neg["loss_float"] - mean) < 5 * se and neg["loss_exact"] != outs[1]["loss_exact"]


class Boom:
    """Unpickling it would create a file: evaluate must refuse the file without running it."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import pathlib

        return pathlib.Path.touch, (pathlib.Path(self.marker),)


@pytest.mark.parametrize("setup,message", [
    (lambda p: None, "no such file"),
    (lambda p: p.with_suffix(".txt").write_text("x"), "expected a .pt"),
    (lambda p: torch.save({"P": torch.zeros(2, 2), "obj": Boom(p.with_name("ran"))}, p), "cannot read"),
    (lambda p: torch.save({"P.0": torch.zeros(3, 3), "Q.0": torch.zeros(3, 3)}, p), "for d = 2, not d = 1"),
    (lambda p: torch.save({"b": torch.tensor([float("nan"), 1.0]), "A": torch.zeros(2, 1)}, p), "not all finite"),
    (lambda p: torch.save({"theta": torch.zeros(1)}, p), "--param"),
])
def test_evaluate_bad_input_is_one_line_exit_2(tmp_path, capsys, setup, message):
    path = tmp_path / "m.pt"
    setup(path)
    target = path.with_suffix(".txt") if message == "expected a .pt" else path
    assert main(["evaluate", str(target), "--d", "1", "--p", "1/2", "--n", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "ran").exists()


def test_optimum_cli(capsys):
    assert main(["optimum", "--param", "zfb", "--d", "2", "--p", "1/2", "--n", "10", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["f_param_star"] == "190259953547/702167785614" and res["chain_holds"] is True
    assert [c["name"] for c in res["chain"]] == ["f_tilde_star", "f_star", "f_param_star"]
    assert len(res["theta_star"]) == 4 and res["params"] == ["W11_1_1", "W11_1_2", "W11_2_1", "W11_2_2"]
    assert main(["optimum", "--param", "dense", "--d", "1"]) == 2
    assert "numeric p and n" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the Gaussian regression family

@pytest.mark.parametrize("sigma,noise2", [((1,), 0), ((1, 2), 0), ((1, 2), R(1, 3)), ((R(1, 2), 1, 3), R(1, 4))])
def test_zfb_and_ahn_reach_the_published_optimum_symbolically_in_n(sigma, noise2):
    """Zhang-Frei-Bartlett (JMLR 2024) / Ahn et al. (NeurIPS 2023): Gamma* = ((n+1)/n Sigma + (tr Sigma +
    noise2)/n I)^{-1} (tau2 = 1), written out here from the formula, against the engine's exact least squares
    over the zfb and ahn parameterizations with n a symbol; and f~* = f_zfb* (the enlarged space gains nothing)."""
    from markov_icl.symbolic.gaussian import GaussianLaw

    n = sp.Symbol("n", positive=True)
    d = len(sigma)
    S = sp.diag(*sigma)
    gamma = ((n + 1) / n * S + (S.trace() + noise2) / n * sp.eye(d)).inv()
    law = GaussianLaw(sigma, noise2=noise2)
    for name, want in (("zfb", gamma.T), ("ahn", -gamma)):  # W11 = Gamma^T, Q0 = -Gamma
        opt = optimum(d, n=n, param=name, law=law, with_f_star=False)
        got = sp.Matrix(d, d, list(opt.theta_star))
        assert sp.simplify(got - want) == sp.zeros(d, d), name
        assert sp.simplify(opt.f_param_star - opt.f_tilde_star) == 0
    loss = S.trace() + noise2 - (S * gamma * S).trace()  # tau2 tr(Sigma) + noise2 - tr(Sigma Gamma* E[h w^T])
    assert sp.simplify(opt.f_param_star - loss) == 0


def test_gaussian_chain_and_cli(capsys):
    from markov_icl.symbolic.gaussian import GaussianLaw

    law = GaussianLaw((1, 2), noise2=R(1, 4))
    opts = {name: optimum(2, n=5, param=name, law=law) for name in PRESETS}
    assert opts["zfb"].f_param_star == opts["ahn"].f_param_star == opts["zfb"].f_tilde_star == R(12621, 9028)
    assert opts["gd"].f_param_star > opts["zfb"].f_param_star           # anisotropic Sigma: one step size loses
    assert abs(opts["dense"].f_param_star - float(R(12621, 9028))) < 1e-12
    assert all(o.chain_holds() for o in opts.values())
    assert main(["optimum", "--param", "zfb", "--d", "2", "--gaussian", "1,2", "--noise2", "1/4", "--n", "5",
                 "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["theta_star"] == ["20/37", "0", "0", "20/61"] and res["f_param_star"] == "12621/9028"
    assert main(["optimum", "--param", "zfb", "--d", "2", "--gaussian", "1", "--n", "5"]) == 2
    assert "needs 2" in capsys.readouterr().err
