"""The Bayes floor holds: every in-context learner's exact loss, and every Monte Carlo estimate within 3 standard
errors, is at least the exact Bayes risk; over a grid of settings."""

from __future__ import annotations

import pytest

from markov_icl.experiments.learners import LearnersConfig, exact_learners, run

#: 24 settings (|S|, d, p, n): binary chains at two p and three d, three-state chains
SETTINGS = ([(2, d, p, n) for d in (1, 2) for p in ("1/3", "1/2") for n in (1, 2, 3, 5, 8)]
            + [(2, 3, "1/2", n) for n in (1, 2)] + [(3, 1, None, n) for n in (1, 2)])


def test_grid_has_at_least_20_settings():
    assert len(SETTINGS) >= 20


@pytest.mark.parametrize("S, d, p, n", SETTINGS)
def test_every_exact_learner_is_above_the_bayes_floor(S, d, p, n):
    rows, _ = exact_learners(S, d, p, n, softmax_starts=2, f_star=False)
    by = {r["learner"]: r for r in rows}
    floor = by["bayes"]["loss"]
    for learner, r in by.items():
        assert r["loss"] >= floor - 1e-12, (learner, r["loss"], floor)
    # the enlarged spaces contain their restrictions; the constant input contains the paper's LSA
    assert by["lsa_const_f_tilde"]["loss"] <= by["lsa_f_tilde"]["loss"] + 1e-15
    assert by["lsa_f_tilde"]["loss"] <= min(by["zfb"]["loss"], by["gd"]["loss"]) + 1e-15
    assert by["softmax"]["loss"] <= by["uniform_attention"]["loss"] + 1e-15


def test_monte_carlo_learners_are_above_the_floor():
    """GPT-2 (briefly trained), the classical learners and the rules, scored on held-out prompts: no estimate lies
    more than 3 standard errors below the exact Bayes risk, and the exact predictors' estimates agree with their
    exact losses (3 s.e.)."""
    cfg = LearnersConfig(states=(2, 3), ds=(1,), ns=(2, 5), ds_multistate=(1,), ns_multistate=(2,), seeds=1, steps=30,
                         eval=400, width=16, layers=1, heads=1, f_star=False, softmax_starts=2)
    rows, summary = run(cfg, progress=False)
    checked = 0
    for r in rows:
        if r["loss_mc"] is None or r["learner"] == "known_kernel":
            continue
        assert r["loss_mc"] >= r["bayes_risk"] - 3 * r["loss_se"], r
        checked += 1
        if r["learner"] in ("bayes", "uniform_attention", "softmax", "lsa_f_tilde"):
            assert abs(r["loss_mc"] - r["loss"]) <= 3 * r["loss_se"] + 1e-12, r
    assert checked >= 30
    assert {s["learner"] for s in summary} >= {"bayes", "gpt2", "logistic", "softmax", "lsa_const_f_tilde"}
