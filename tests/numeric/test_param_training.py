"""Training a one-layer LSA in the free parameters of a linear parameterization (ahn, zfb, gd) reaches its exact optimum.

Oracle: the exact least-squares optimum of :func:`markov_icl.symbolic.param.optimum`. For a linear
parameterization ``X = M theta + X0`` and ``theta*`` minimises ``f~(M theta + X0)``, so exactly

    f~(M theta + X0) - f_param* = (theta - theta*)^T K (theta - theta*),   K = M^T H M,

and ``||theta - theta*||^2 <= gap / lambda_min(K)``: the tolerance on theta follows from the gap. The
trained loss is the population loss ``f~`` evaluated exactly (the float weights at their binary values),
not a sample loss.
"""

import json
import math
import os

import numpy as np
import pytest
import sympy as sp
import torch

from markov_icl import ParamLSA, solve
from markov_icl.cli import main
from markov_icl.numeric.lsa import one_layer_params
from markov_icl.numeric.train import train
from markov_icl.symbolic.model import phi
from markov_icl.symbolic.param import exact_number, optimum, preset

GAP = 1e-5
#: 4000 steps x 1024 fresh prompts, Adam lr 0.02 with the cosine schedule: 2-6 s per run on one core
RUN = dict(steps=4000, batch=1024, lr=0.02, optimizer="adam", schedule="cosine")


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread (as ``markov-icl verify`` uses): small tensors, and runs reproducible across machines."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def solutions():
    return {d: solve(d, "1/2", 10) for d in (1, 2)}


@pytest.mark.slow
@pytest.mark.parametrize("d", [1, 2])
@pytest.mark.parametrize("name", ["ahn", "zfb", "gd"])
def test_training_reaches_the_exact_optimum_of_the_parameterization(solutions, name, d):
    sol = solutions[d]
    param = preset(name, d)
    opt = optimum(param=param, solution=sol, with_f_star=False)
    assert opt.chain_holds()
    net = ParamLSA(param, init_scale=0.5, seed=0)
    train(net, sol.law, d, 10, seed=0, progress=False, **RUN)
    theta = net.theta.detach().numpy()
    # the exact X of the trained weights is the float phi of the model's (b, A)
    X = param.phi([exact_number(float(t)) for t in theta])
    assert np.array_equal(np.array([float(x) for x in X]), phi(*one_layer_params(net)).numpy())
    gap = sol.f_tilde(X) - opt.f_param_star                      # exact rational
    M, X0 = param.design()
    K = M.T * sol.H * M
    dtheta = sp.Matrix([exact_number(float(t)) for t in theta]) - sp.Matrix(opt.theta_star)
    assert gap == (dtheta.T * K * dtheta)[0, 0]                   # the identity of the module docstring, exactly
    assert 0 <= gap < GAP, f"{name} d={d}: trained - f_param* = {float(gap):.3e}"
    lam_min = float(np.linalg.eigvalsh(np.array(K.tolist(), dtype=float))[0])
    assert lam_min > 0
    dist = float(np.linalg.norm(np.array(dtheta.tolist(), dtype=float)))
    assert dist <= math.sqrt(float(gap) / lam_min) * (1 + 1e-9) + 1e-15
    assert dist <= math.sqrt(GAP / lam_min)                       # e.g. 0.014 (d = 1), 0.037 (ahn, d = 2)
    # the trained loss is above f~*; the gap to f~* is that of the parameterization
    assert float(sol.f_tilde(X)) >= float(sol.f_tilde_star)


@pytest.mark.slow
def test_cli_verify_param_gd_saves_a_loadable_model(tmp_path, capsys):
    path = tmp_path / "gd.pt"
    rc = main(["verify", "--param", "gd", "--d", "1", "--p", "1/2", "--n", "10", "--json", "--save", str(path),
               "--steps", "3000", "--lr", "0.02", "--mc-samples", "20000"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["param"] == "gd" and res["f_param_star"] == "13/36" and res["theta_star"] == ["5/3"]
    assert res["theta_star_float"] == [5 / 3] and res["f_param_star_float"] == 13 / 36
    assert 0 <= res["gap_param"] < GAP
    assert res["gap_param"] == res["trained_loss_exact"] - 13 / 36
    assert res["gap"] == res["trained_loss_exact"] - res["f_tilde_star_float"]  # gap is still to f~* = 121/342
    assert res["f_tilde_star"] == "121/342"
    assert res["saved"] == str(path) and sorted(os.listdir(tmp_path)) == ["gd.pt"]  # no .tmp left behind
    net = ParamLSA(preset("gd", 1))
    net.load_state_dict(torch.load(path, weights_only=True))
    assert net.theta.tolist() == res["theta_trained"]
    X = phi(*one_layer_params(net)).numpy()
    assert float(solve(1, "1/2", 10).f_tilde(X)) == res["trained_loss_exact"]
    assert abs(res["trained_loss_mc"] - res["trained_loss_exact"]) < 5 * res["trained_loss_mc_stderr"]


def test_cli_verify_param_text_and_dense(capsys):
    assert main(["verify", "--param", "ahn", "--d", "1", "--p", "1/2", "--n", "10", "--steps", "20",
                 "--mc-samples", "100"]) == 0
    out = capsys.readouterr().out
    assert "ahn parameterization (1 free parameter)" in out
    line = next(x for x in out.splitlines() if x.startswith("f_param* (best ahn loss)"))
    assert "(= 13/36)" in line and abs(float(line.split()[4]) - 13 / 36) < 1e-8
    assert any(x.startswith("gap trained - f_param*") for x in out.splitlines())
    assert "Q0_1_1" in out and "-1.666667" in out                   # theta* = -5/3 (ahn's Q0 = -eta)
    # dense via --param: its optimum is f* (a float from the certified search), no theta*
    assert main(["verify", "--param", "dense", "--d", "1", "--p", "1/2", "--n", "10", "--steps", "20",
                 "--mc-samples", "100", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["theta_star"] is None and res["theta_star_float"] is None and len(res["theta_trained"]) == 8
    assert float(res["f_param_star"]) == res["f_param_star_float"]
    assert abs(res["f_param_star_float"] - 121 / 342) < 1e-9          # realisable point: f* = f~*


@pytest.mark.parametrize("args", [
    ["--param", "gd", "--model", "sparse"],
    ["--param", "nope"],
    ["--param", "gd", "--save", "/nonexistent-folder/x.pt"],
    ["--param", "gd", "--save", "."],
])
def test_cli_verify_param_bad_input_is_one_line(capsys, args):
    assert main(["verify", "--d", "1", "--p", "1/2", "--n", "10", "--steps", "5", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("markov-icl: error:") and err.count("\n") == 1


def test_a_failed_save_leaves_no_file(tmp_path, monkeypatch):
    from markov_icl import verify

    def broken(obj, f, *args, **kwargs):
        with open(f, "wb") as fh:
            fh.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        verify(1, "1/2", 10, steps=2, batch=16, mc_samples=10, progress=False, param="gd", save=tmp_path / "m.pt")
    assert os.listdir(tmp_path) == []
