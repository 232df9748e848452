"""`markov-icl verify`: the JSON contract (exact strings with float twins), values, bad input.

Oracles: the published f~*(1/2, 5) = 35/96 (theory §5), the Euclidean distance recomputed here,
and the independent Monte Carlo estimate within 5 standard errors of the exact loss.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from markov_icl.cli import main
from markov_icl.oracles import features, mean_se, objective_at_n, sample_chains

KEYS = {"trained_loss_exact", "trained_loss_mc", "trained_loss_mc_stderr", "f_tilde_star", "f_tilde_star_float",
        "X_star", "X_star_float", "phi_trained", "phi_distance", "gap", "index"}


def test_verify_json_keys_and_values(capsys):
    rc = main(["verify", "--d", "2", "--p", "1/3", "--n", "4", "--steps", "20", "--batch", "32", "--mc-samples", "500",
               "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res) >= KEYS
    assert len(res["X_star"]) == len(res["X_star_float"]) == len(res["phi_trained"]) == 2 * 6  # d m
    assert all(isinstance(x, str) and "/" in x for x in res["X_star"])
    assert all(isinstance(x, float) for x in res["X_star_float"] + res["phi_trained"])
    assert res["trained_loss_exact"] >= res["f_tilde_star_float"] - 1e-12
    assert abs(res["gap"] - (res["trained_loss_exact"] - res["f_tilde_star_float"])) < 1e-15
    # phi_distance is the Euclidean distance; the Monte Carlo loss agrees with the exact one
    dist = sum((a - b) ** 2 for a, b in zip(res["phi_trained"], res["X_star_float"])) ** 0.5
    assert abs(res["phi_distance"] - dist) < 1e-12
    assert abs(res["trained_loss_mc"] - res["trained_loss_exact"]) < 5 * res["trained_loss_mc_stderr"]
    # oracles: X* from enumerating every prompt, and the trained loss by Monte Carlo on prompts of the plain
    # NumPy sampler (features x_q kron g built there), within 5 standard errors
    H, beta, _ = objective_at_n(2, 4, "1/3")
    assert [sp.Rational(x) for x in res["X_star"]] == list(H.LUsolve(beta))
    ctx, q = sample_chains(1 / 3, 4, 2, 200_000, seed=17)
    _, feats, y = features(ctx, q, 2)
    mean, se = mean_se((feats @ np.array(res["phi_trained"]) - y) ** 2)
    assert abs(mean - res["trained_loss_exact"]) < 5 * se


def test_verify_text(capsys):
    assert main(["verify", "--d", "1", "--p", "1/2", "--n", "5", "--steps", "10", "--mc-samples", "100"]) == 0
    out = capsys.readouterr().out
    assert "f~*" in out and "||phi - X*||" in out
    line = next(x for x in out.splitlines() if x.startswith("f~* (exact optimum)"))
    assert "(= 35/96)" in line and abs(float(line.split()[3]) - 35 / 96) < 1e-8  # theory §5


@pytest.mark.parametrize("args", [
    ["--d", "1", "--p", "2", "--n", "10"],
    ["--d", "1", "--p", "0.5x", "--n", "10"],
    ["--d", "1", "--p", "1/2", "--n", "0"],
    ["--d", "0", "--p", "1/2", "--n", "10"],
    ["--d", "1", "--p", "1/2", "--n", "10", "--steps", "0"],
    ["--d", "1", "--p", "1/2", "--n", "10", "--init", "correlated:1/5,1/5,1/10"],
    ["--d", "1", "--p", "1/2", "--n", "10", "--lr", "inf"],
    ["--d", "1", "--p", "1/2", "--n", "10", "--seed", str(2**70)],
    ["--d", "1", "--p", "1/2", "--n", "10", "--threads", "100000"],
    ["--d", "1", "--p", "1/2", "--n", "100000000"],
])
def test_verify_bad_input_is_one_line_exit_2(capsys, args):
    assert main(["verify", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("markov-icl: error:") and err.count("\n") == 1


def test_verify_bad_input_subprocess():
    r = subprocess.run([sys.executable, "-m", "markov_icl", "verify", "--d", "1", "--p", "3/2", "--n", "10"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1
