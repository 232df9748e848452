"""The integrated exact flow of the key-query head against the mode solution, and each removed assumption.

Oracles: SciPy's integration of the exact polynomial gradient (no mode ansatz) against the closed-form logistic
curves, the exact unbalanced mode equation, least squares on the empirical objective for the finite-P limit, and the
exact optima of the Markov objective (rational least squares).
"""

import numpy as np
import sympy as sp

from markov_icl.numeric.modes import aligned_theta, markov_mode_analogue, mode_assumption_effects, mode_flow, seed_row
from markov_icl.symbolic.gaussian import GaussianLaw
from markov_icl.symbolic.modes import ModeSolution


def test_closed_form_matches_the_exact_flow_to_1e_8():
    for law, n in ((GaussianLaw((1, "1/2")), 10), (GaussianLaw((2, 1, "1/4"), noise2="1/10"), 5)):
        row = seed_row(law, n, gamma0=1e-6, points=80, seed=3)
        assert row["max_loss_error"] < 1e-8 and row["max_gamma_error"] < 1e-8 and row["max_offdiagonal"] < 1e-8
        assert row["final_excess_loss"] < 1e-8


def test_balanced_modes_from_different_sizes_stage_by_timescale():
    law = GaussianLaw((1, "1/4"))
    ms = ModeSolution.of(law, 8)
    g0 = np.array([1e-4, 1e-2])
    fl = mode_flow(law, 8, aligned_theta(np.sqrt(g0), np.sqrt(g0)), 60.0, 60)
    assert np.abs(fl.loss - ms.loss(fl.t, g0)).max() < 1e-8
    t1, t2 = ms.half_times(g0)
    assert t1 < t2  # the smaller variance learns later despite its larger start


def test_each_removed_assumption_is_measured():
    law = GaussianLaw((1, "1/2"))
    rows = {r["case"]: r for r in mode_assumption_effects(law, 10, P=(100, 10000), label_scale=(1e-3, 0.3), points=60)}
    assert rows["seed"]["max_loss_error"] < 1e-8
    ub = rows["unbalanced"]
    assert ub["unbalanced_equation_error"] < 1e-8 and ub["relative_loss_error"] > 0.01 and ub["max_offdiagonal"] == 0
    assert rows["unaligned"]["relative_loss_error"] > 0.01 and rows["unaligned"]["max_offdiagonal"] > 1e-4
    assert rows["key_label 0.001"]["relative_loss_error"] < 1e-3 < rows["key_label 0.3"]["relative_loss_error"]
    assert rows["key_label 0.3"]["label_column_end"] < 1e-8          # the label column decays to 0
    small, big = rows["finite_P 100"], rows["finite_P 10000"]
    assert small["limit_excess_loss"] > big["limit_excess_loss"] > 0
    assert abs(big["final_excess_loss"] - big["limit_excess_loss"]) < 1e-6


def test_markov_modes_couple_and_the_label_column_helps():
    one = markov_mode_analogue(1, points=60)
    assert one["coupling"] == 0 and one["max_loss_error"] < 1e-8
    assert sp.Rational(one["f_zfb_star"]) == sp.Rational(13, 36)
    assert sp.Rational(one["f_label_free_star"]) == sp.Rational(223, 630)
    two = markov_mode_analogue(2, points=80)
    assert two["coupling"] > 0.1 and two["relative_loss_error"] > 0.1 and two["conservation_zero"]
    assert abs(two["final_loss"] - two["f_zfb_star_float"]) < 1e-9
    assert np.allclose(two["final_modes"], two["singular_values_star"], atol=1e-6)
