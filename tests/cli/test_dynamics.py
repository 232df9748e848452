"""``markov-icl dynamics``: outputs, summaries for bilinear and linear parameterizations, bad input.

Oracles: the written CSV against the exact loss recomputed from the parameters' law (the flow's first row is
the loss at theta_0 = the seeded initialisation), and the one-line errors of the shared option checks.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from markov_icl.cli import main
from markov_icl.symbolic.dynamics import PopulationLoss
from markov_icl.symbolic.param import preset
from markov_icl.symbolic.solve import solve

FAST = ["--time", "4", "--points", "5", "--dataset", "200", "--adam-steps", "4", "--lr", "0.5"]


def test_sparse_run_writes_csvs_png_and_summary(tmp_path, capsys):
    assert main(["dynamics", "--out", str(tmp_path), *FAST]) == 0
    out = capsys.readouterr().out
    assert "origin: a saddle" in out and "stage 1" in out and "invariant" in out
    rows = list(csv.DictReader(open(tmp_path / "dynamics.csv")))
    assert len(rows) == 5 and float(rows[0]["t"]) == 0.0
    th0 = np.random.default_rng(0).normal(0.0, 1e-3, 4)
    L = PopulationLoss(preset("sparse", 1), solve(1, "1/2", 10))
    assert float(rows[0]["flow_loss"]) == pytest.approx(float(L.value(list(th0))), rel=1e-12)
    assert {"flow_invariant", "gd_invariant", "train_invariant", "flow_sv_1"} <= set(rows[0])
    assert (tmp_path / "dynamics_adam.csv").exists() and (tmp_path / "dynamics.png").stat().st_size > 10_000


def test_linear_run_summary(tmp_path, capsys):
    assert main(["dynamics", "--param", "zfb", "--d", "2", "--init-scale", "1", "--out", str(tmp_path), *FAST]) == 0
    out = capsys.readouterr().out
    assert "exp(-2 G t)" in out and "timescales" in out


@pytest.mark.parametrize("argv, message", [
    (["--d", "9"], "--d must be at most 3"),
    (["--param", "lstm"], "invalid choice"),
    (["--time", "1e9"], "--time must be at most"),
    (["--time", "100", "--lr", "1e-6"], "gradient steps; at most"),
    (["--points", "1"], "--points must be at least 2"),
])
def test_bad_input_is_one_line(argv, message, tmp_path, capsys):
    assert main(["dynamics", "--out", str(tmp_path / "o"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
