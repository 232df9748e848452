"""When a loss falls to a level (theory §12, the escape time): the flow's crossing on the solver's dense output, and
gradient descent's crossing on every iterate.

Oracles: linear flows whose learning curve is written out here in closed form, ``f(t) = f0 + sum_i lam_i c_i^2
exp(-4 lam_i t)`` (its root by SciPy's ``brentq`` to machine precision), and gradient descent on the same quadratic,
whose iterates are ``theta_k = s + (1 - 2 lr lam)^k (theta_0 - s)``: the first iterate at or below the level by a
logarithm, the interpolated time from the two closed-form losses around it. At the issue's setting (d = 2,
p = 1/2, n = 10, init scale 1e-3, seed 0) the command's numbers against a plain gradient-descent loop written here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from markov_icl.numeric.dynamics import IterateCrossing, descend, flow_crossing, interpolated_crossing

LAM = np.array([0.05, 0.8])  # two timescales: the curve is not one exponential
S = np.array([1.0, -2.0])
F0 = 0.3


def grad(th):
    return 2 * LAM * (np.asarray(th) - S)


def loss(th):
    return F0 + float(np.sum(LAM * (np.asarray(th) - S) ** 2))


def curve(t):
    """The exact learning curve of the flow from theta_0 = 0: theta(t) - s = exp(-2 lam t) (0 - s)."""
    return F0 + float(np.sum(LAM * S ** 2 * np.exp(-4 * LAM * t)))


def test_flow_crossing_is_the_root_of_the_closed_form_curve():
    th0 = np.zeros(2)
    for level in (F0 + 0.5 * (curve(0) - F0), F0 + 0.01, F0 + 1e-4):
        t_exact = brentq(lambda t, level=level: curve(t) - level, 0.0, 500.0, xtol=1e-14)
        t = flow_crossing(grad, loss, th0, level, 500.0, rtol=1e-12, atol=1e-14)
        assert t == pytest.approx(t_exact, rel=1e-9, abs=1e-9)
        # the linear interpolation between recorded points 0.75 apart (the command's former rule) is off by more
        grid = np.arange(0.0, 500.0, 0.75)
        assert abs(interpolated_crossing(grid, [curve(x) for x in grid], level) - t_exact) > 1e-5
    first = brentq(lambda t: curve(t) - (F0 + 0.01), 0.0, 500.0, xtol=1e-14)
    second = brentq(lambda t: curve(t) - (F0 + 1e-4), 0.0, 500.0, xtol=1e-14)
    # after=: the first crossing at or after a time (the flow's loss only decreases: a lower level after a higher)
    assert flow_crossing(grad, loss, th0, F0 + 1e-4, 500.0, rtol=1e-12, atol=1e-14, after=first) == \
        pytest.approx(second, rel=1e-9)
    assert flow_crossing(grad, loss, th0, F0 + 0.01, 500.0, rtol=1e-12, atol=1e-14, after=first + 1) is None
    assert flow_crossing(grad, loss, th0, curve(0) + 1, 10.0) == 0.0  # already below
    assert flow_crossing(grad, loss, th0, F0 - 1e-3, 10.0) is None  # never reached


def test_gd_crossing_is_the_first_iterate_below_and_the_interpolated_time():
    lam, s, lr, th0 = 0.05, 5 / 3, 0.5, 0.0  # the gd preset at d = 1, p = 1/2, n = 10: f = 13/36 + (eta - 5/3)^2 / 20
    f_star = 13 / 36
    r = 1 - 2 * lr * lam

    def f_k(k):
        return f_star + lam * r ** (2 * k) * (th0 - s) ** 2

    for level in (0.45, 0.4, 0.37):
        k_star = math.ceil(math.log((level - f_star) / (lam * (th0 - s) ** 2)) / (2 * math.log(r)))
        assert f_k(k_star) <= level < f_k(k_star - 1)
        t_star = (k_star - 1) * lr + lr * (f_k(k_star - 1) - level) / (f_k(k_star - 1) - f_k(k_star))
        cross = IterateCrossing(lambda th: f_star + lam * (th[0] - s) ** 2, level, lr, [th0])
        descend(lambda th: 2 * lam * (th - s), [th0], lr, k_star + 5, every=1000, on_step=cross)
        assert cross.step == k_star
        assert cross.time == pytest.approx(t_star, rel=1e-12)
        assert (k_star - 1) * lr < cross.time <= k_star * lr
    late = IterateCrossing(lambda th: float(th[0]), 0.5, 0.1, [0.2])  # the start is already below
    assert (late.step, late.time) == (0, 0.0)
    never = IterateCrossing(lambda th: 1.0, 0.5, 0.1, [0.0])
    descend(lambda th: np.zeros(1), [0.0], 0.1, 5, on_step=never)
    assert never.step is None and never.time is None


def test_train_on_prompts_calls_on_step_with_every_iterate():
    from markov_icl.numeric.dynamics import train_on_prompts
    from markov_icl.symbolic.param import preset
    from markov_icl.symbolic.solve import solve

    seen = {}
    t, th = train_on_prompts(preset("gd", 1), solve(1, "1/2", 5).law, 5, [0.0], 0.5, 6, dataset_size=50, every=3,
                             on_step=lambda k, theta: seen.setdefault(k, np.array(theta, copy=True)))
    assert sorted(seen) == [1, 2, 3, 4, 5, 6]
    assert np.allclose([seen[3], seen[6]], th[1:]) and t.tolist() == [0.0, 1.5, 3.0]


def test_dynamics_escape_times_at_d2():
    """The issue's setting: the flow crosses the halfway level where the rank-one prediction says (6.1979), and
    the command's GD crossing is that of a plain gradient-descent loop on every iterate (6.3517, step 128)."""
    from markov_icl.experiments.dynamics import DynamicsConfig, run, summary
    from markov_icl.symbolic.dynamics import PopulationLoss
    from markov_icl.symbolic.param import preset
    from markov_icl.symbolic.solve import solve

    config = DynamicsConfig(d=2, time=7.0, points=5, dataset=200, adam_steps=5)
    rows, adam, info = run(config)
    st = info["stages"]
    assert st["escape_time_measured"]["flow"] == pytest.approx(st["escape_time_predicted"], rel=2e-5)
    assert st["escape_time_measured"]["flow"] == pytest.approx(6.19786, abs=1e-5)
    # the oracle: gradient descent written out, every iterate's exact loss, the crossing interpolated in its step
    loss_fn, grad_fn = PopulationLoss(preset("sparse", 2), solve(2, "1/2", 10)).lambdify()
    th = np.random.default_rng(0).normal(0.0, 1e-3, 9)
    prev, k = float(loss_fn(th)), 0
    while True:
        k += 1
        th = th - 0.05 * grad_fn(th)
        y = float(loss_fn(th))
        if y <= st["escape_level"]:
            break
        prev = y
    assert st["escape_step"]["gd"] == k == 128
    assert st["escape_time_measured"]["gd"] == pytest.approx((k - 1) * 0.05 + 0.05 * (prev - st["escape_level"]) /
                                                             (prev - y), rel=1e-12)
    text = summary((rows, adam, info), config, 1.0)
    assert "predicted t = 6.1979, measured: flow 6.1979, GD 6.3517 (step 128)" in text
