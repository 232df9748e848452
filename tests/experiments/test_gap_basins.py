"""``markov-icl experiment gap`` and ``markov-icl experiment basins`` at tiny sizes: outputs, the method, bad input.

Oracles: for the basins, the seeding of ``markov-icl dynamics`` (``default_rng(seed).normal(0, scale, k)``), an
independent root search of the exact gradient from where each flow was stopped (its exact Hessian index and loss
say which local minimum it is at), the certified f* of the variable projection, and the closed-form
Clopper-Pearson bounds of 0 and all successes (``1 - (alpha/2)^(1/n)``); for the gap, the realisability threshold
n = 13 at d = 1 (theory §10) and the limits of :mod:`tests.symbolic.test_large_n`.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from markov_icl.cli import main
from markov_icl.errors import MarkovICLError


def test_basins_small_and_large_scales_d2(tmp_path):
    """d = 2, p = 1/2, n = 10: from scale 1e-3 the flow ends in the upper local minimum (5.1e-4 above f*), from scale
    1 it can end at f* (seeds 3, 4 do): the docs' former "from every initialisation tried" does not hold."""
    from markov_icl.experiments.basins import BasinsConfig, fractions, run, summary, write
    from markov_icl.symbolic.dynamics import PopulationLoss, critical_point
    from markov_icl.symbolic.param import preset
    from markov_icl.symbolic.solve import solve
    from markov_icl.symbolic.varpro import best_one_layer

    config = BasinsConfig(scales="0.001,1", seed=3, starts=2, time=3200)
    result = run(config, progress=False)
    rows = result["rows"]
    assert [(r["scale"], r["seed"], r["minimum"]) for r in rows] == [(0.001, 3, 1), (0.001, 4, 1), (1.0, 3, 0),
                                                                      (1.0, 4, 0)]
    sol = solve(2, "1/2", 10)
    L = PopulationLoss(preset("sparse", 2), sol)
    f_star = best_one_layer(sol).f_star
    assert result["minima"][0] == pytest.approx(f_star, abs=1e-10) and result["minima"][1] - f_star > 5e-4
    for r, th in zip(rows, result["theta_end"]):
        th0 = np.random.default_rng(r["seed"]).normal(0.0, r["scale"], 9)  # the dynamics command's start
        assert r["invariant_0"] == pytest.approx((th0[:3] ** 2).sum() - (th0[3:] ** 2).sum(), rel=1e-12)
        if r["minimum"] == 0:
            assert r["rule"] == "below c_1" and r["loss_end"] < result["minima"][1]
        else:
            cp = critical_point(L, th)  # an independent root search from where the flow stopped
            assert cp.index == 0 and cp.loss == pytest.approx(result["minima"][1], abs=1e-10)
            assert np.linalg.norm(cp.theta - th) < 1e-2
    fr = fractions(result, config)
    assert (fr[0]["at_0"], fr[0]["at_1"], fr[1]["at_0"]) == (0, 2, 2)
    assert fr[0]["high_0"] == pytest.approx(1 - 0.025 ** 0.5) and fr[1]["low_0"] == pytest.approx(0.025 ** 0.5)
    text = summary(result, config, 1.0)
    assert "0.00 [0.00, 0.84]" in text and "1.00 [0.16, 1.00]" in text
    written = write(result, config, tmp_path)
    assert [p.name for p in written] == ["basins.csv", "basins.png"]
    assert len(list(csv.DictReader(open(tmp_path / "basins.csv")))) == 4
    assert (tmp_path / "basins.png").stat().st_size > 10_000


def test_gap_tiny_d1_is_zero_from_the_threshold_and_d2_is_not(tmp_path, capsys):
    assert main(["experiment", "gap", "--d", "1", "--ps", "1/2", "--ns", "5", "13", "--out", str(tmp_path)]) == 0
    rows = list(csv.DictReader(open(tmp_path / "gap.csv")))
    assert [(r["n"], r["realizable"]) for r in rows] == [("5", "False"), ("13", "True")]
    assert float(rows[0]["gap"]) == pytest.approx(2.788e-05, rel=1e-3) and float(rows[1]["gap"]) == 0.0
    out = capsys.readouterr().out
    assert "0 (X* real.)" in out and "f~*_inf = 1/3" in out
    from markov_icl.experiments.gap import GapConfig, run

    result = run(GapConfig(ps="1/2", ns=(10**6,), starts=8), progress=False)
    assert result["rows"][0]["gap"] == pytest.approx(result["limits"][0]["gap"], abs=1e-6)
    assert result["limits"][0]["f_tilde_star"] == "1514/6579" and not result["limits"][0]["realizable"]


@pytest.mark.parametrize("argv, message", [
    (["basins", "--scales", "0,1"], "--scales must be a comma-separated list"),
    (["basins", "--scales", "0.1,0.1"], "--scales lists a value twice"),
    (["basins", "--param", "zfb"], "invalid choice"),
    (["gap", "--ps", "1/2,2"], "(0, 1)"),
    (["gap", "--ps", "1/2,,3/4"], "--ps must be a comma-separated list"),
    (["gap", "--d", "3"], "--d must be at most 2"),
    (["gap", "--ns", "10", "10"], "--ns lists a value twice"),
])
def test_bad_input_is_one_line(argv, message, tmp_path, capsys):
    assert main(["experiment", *argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_configs_check_from_python():
    from markov_icl.experiments.basins import BasinsConfig
    from markov_icl.experiments.gap import GapConfig

    with pytest.raises(MarkovICLError, match="--starts"):
        BasinsConfig(starts=0)
    with pytest.raises(MarkovICLError, match="--ns"):
        GapConfig(ns=(0,))
