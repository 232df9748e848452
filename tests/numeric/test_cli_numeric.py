"""`markov-icl verify` (JSON contract, bad input) and `markov-icl experiment fig4` at tiny sizes."""

import csv
import json
import subprocess
import sys

import pytest

from derivations.cli import main

KEYS = {"trained_loss_exact", "trained_loss_mc", "trained_loss_mc_stderr", "f_tilde_star", "X_star", "phi_trained",
        "phi_distance"}


def test_verify_json_keys(capsys):
    rc = main(["verify", "--d", "2", "--p", "1/3", "--n", "4", "--steps", "20", "--batch", "32", "--mc-samples", "500",
               "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res) >= KEYS
    assert len(res["X_star"]) == len(res["phi_trained"]) == 2 * 6  # d m, m = (d+1)(d+2)/2
    assert all(isinstance(x, float) for x in res["X_star"] + res["phi_trained"])
    assert res["trained_loss_exact"] >= res["f_tilde_star"] - 1e-12
    # values: phi_distance is the Euclidean distance; the Monte Carlo loss agrees with the exact one
    dist = sum((a - b) ** 2 for a, b in zip(res["phi_trained"], res["X_star"])) ** 0.5
    assert abs(res["phi_distance"] - dist) < 1e-12
    assert abs(res["trained_loss_mc"] - res["trained_loss_exact"]) < 5 * res["trained_loss_mc_stderr"]


def test_verify_text(capsys):
    assert main(["verify", "--d", "1", "--p", "1/2", "--n", "5", "--steps", "10", "--mc-samples", "100"]) == 0
    out = capsys.readouterr().out
    assert "f~*" in out and "||phi - X*||" in out
    # SPEC §5: f~*(1/2, 5) = 35/96
    line = next(x for x in out.splitlines() if x.startswith("f~* (exact optimum)"))
    assert abs(float(line.split()[-1]) - 35 / 96) < 1e-8


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
    r = subprocess.run([sys.executable, "-m", "derivations.cli", "verify", "--d", "1", "--p", "3/2", "--n", "10"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1


def test_fig4_tiny(tmp_path, capsys):
    rc = main(["experiment", "fig4", "--out", str(tmp_path), "--d", "1", "--n", "5", "--batch", "16", "--steps", "12",
               "--eval-every", "5"])
    assert rc == 0
    assert (tmp_path / "fig4.png").stat().st_size > 1000
    with open(tmp_path / "fig4.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12 and [r["step"] for r in rows[:3]] == ["0", "1", "2"]
    assert rows[0]["dense_exact_loss"] and rows[5]["sparse_exact_loss"] and not rows[1]["dense_exact_loss"]
    assert rows[11]["dense_exact_loss"]
    fstar = float(rows[0]["f_tilde_star"])
    assert all(float(r["sparse_exact_loss"]) >= fstar - 1e-12 for r in rows if r["sparse_exact_loss"])
    assert not list(tmp_path.glob(".*tmp"))  # atomic writes leave no temporaries
    assert "fig4.csv" in capsys.readouterr().out


def test_fig4_shared_init_runs_coincide(tmp_path):
    assert main(["experiment", "fig4", "--out", str(tmp_path), "--d", "2", "--n", "5", "--batch", "16", "--steps", "30",
                 "--shared-init", "--no-plot", "--no-f-star"]) == 0
    with open(tmp_path / "fig4.csv") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        assert abs(float(r["dense_train_loss"]) - float(r["sparse_train_loss"])) < 1e-12


def test_fig4_bad_input(capsys):
    assert main(["experiment", "fig4", "--steps", "0"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
