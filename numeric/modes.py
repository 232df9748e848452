"""The exact gradient flow of the key-query head against the mode solution, and what each removed assumption does
(theory §16).

Every flow here is :func:`~markov_icl.numeric.dynamics.integrate_flow` (DOP853, rtol 1e-12) of the exact
polynomial loss of :class:`~markov_icl.symbolic.dynamics.PopulationLoss` for
:func:`~markov_icl.symbolic.modes.key_query`; the prediction is
:class:`~markov_icl.symbolic.modes.ModeSolution`. :func:`mode_assumption_effects` measures, one assumption at a time:

* ``seed``: aligned (``W_Kx = R diag(p)``, ``W_Q = R diag(q)``, a random orthogonal R), balanced (``p = q``),
  label column zero, the population loss: the logistic closed form should hold to rounding;
* ``unbalanced``: aligned, ``p_0 = 2 q_0``: the logistic form with ``gamma_0 = p_0 q_0`` against the flow, and the
  exact unbalanced mode equation;
* ``unaligned``: i.i.d. Gaussian ``W_K``, ``W_Q``; the prediction takes ``gamma_alpha(0) = ||(k_alpha + q_alpha)/2||^2``,
  the size of the growing combination of the columns ``k_alpha = W_K e_alpha``, ``q_alpha = W_Q e_alpha`` (the
  linearised flow at small weights);
* ``key_label``: the seed's aligned balanced start plus a random label column ``w_Ky``;
* ``finite_P``: the flow of the empirical loss of P sampled prompts (each its own task ``w``), scored by the
  population loss along the way.

Each row gives the largest ``|L_flow(t) - L_modes(t)|`` over the run, relative to the drop ``L(0) - f*``, the
largest off-diagonal ``|Gamma_ab|`` in the eigenbasis of ``Sigma``, the time each mode reaches half its limit (flow
and prediction), and the population loss at the end above ``f*`` (the ZFB optimum).

Examples:
    >>> from markov_icl.symbolic.gaussian import GaussianLaw
    >>> row = seed_row(GaussianLaw((1, "1/2")), 10, gamma0=1e-6, points=60)
    >>> bool(row["max_loss_error"] < 1e-9)
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from markov_icl.errors import MarkovICLError


@dataclass
class ModeFlow:
    """A flow of :func:`~markov_icl.symbolic.modes.key_query`: times, parameters, population loss, ``Gamma(t)``."""

    t: np.ndarray
    theta: np.ndarray
    loss: np.ndarray
    Gamma: np.ndarray


def _losses(law, n, key_label: bool, objective=None, head=None):
    from markov_icl.symbolic.dynamics import PopulationLoss
    from markov_icl.symbolic.modes import QuadraticObjective, key_query

    par = key_query(law.d, head, key_label)
    pop = PopulationLoss(par, QuadraticObjective.gaussian(law, n))
    flow = pop if objective is None else PopulationLoss(par, objective)
    return pop, flow


def mode_flow(law, n, theta0, T: float, points: int = 400, key_label: bool = False, objective=None,
              head=None) -> ModeFlow:
    """Integrate the exact flow from ``theta0`` to ``T`` (of ``objective``, default the population loss of ``law``),
    recording the population loss and ``Gamma = W_Kx^T W_Q`` at ``points`` times."""
    from markov_icl.symbolic.modes import split_theta

    pop, flow = _losses(law, n, key_label, objective, head)
    f_pop, _ = pop.lambdify()
    _, grad = flow.lambdify()
    ts = np.linspace(0.0, T, points)
    th = _segments(grad, theta0, ts)
    t = ts
    WK, WQ = split_theta(th, law.d, head, key_label)
    G = np.einsum("tau,tav->tuv", WK[..., : law.d], WQ)
    return ModeFlow(t, th, np.asarray(f_pop(th), dtype=float), G)


def _segments(grad, theta0, ts) -> np.ndarray:
    """The flow at the times ``ts`` (increasing, from 0), integrated segment by segment so that every reported
    point is a step end of the solver (rtol 1e-12), not an interpolated one."""
    from markov_icl.numeric.dynamics import integrate_flow

    out = [np.asarray(theta0, dtype=np.float64)]
    for a, b in zip(ts[:-1], ts[1:]):
        _, th = integrate_flow(grad, out[-1], float(b - a), [float(b - a)], rtol=1e-12, atol=1e-15)
        out.append(th[-1])
    return np.array(out)


def aligned_theta(p0, q0, R=None, label_column=None) -> np.ndarray:
    """``W_K = R [diag(p0), label_column]``, ``W_Q = R diag(q0)`` as a parameter vector of ``key_query``."""
    from markov_icl.symbolic.modes import join_theta

    p0, q0 = np.asarray(p0, float), np.asarray(q0, float)
    d = len(p0)
    R = np.eye(d) if R is None else np.asarray(R, float)
    K = R @ np.diag(p0)
    if label_column is not None:
        K = np.column_stack([K, R @ np.asarray(label_column, float)])
    return join_theta(K, R @ np.diag(q0), key_label=label_column is not None)


def _half_times(t, gam, target) -> list:
    """Per mode (column of ``gam``), the first time it rises to half its ``target`` (NaN if it never does)."""
    from markov_icl.numeric.dynamics import interpolated_crossing

    hits = [interpolated_crossing(t, gam[:, a], target[a] / 2, rising=True) for a in range(gam.shape[1])]
    return [float("nan") if h is None else h for h in hits]


def _row(name: str, fl: ModeFlow, pred_loss, pred_gamma, ms, f_star: float, note: str = "") -> dict:
    diag = np.diagonal(fl.Gamma, 0, 1, 2)
    drop = fl.loss[0] - f_star
    off = fl.Gamma - np.einsum("ti,ij->tij", diag, np.eye(diag.shape[1]))
    return {"case": name, "max_loss_error": float(np.abs(fl.loss - pred_loss).max()),
            "relative_loss_error": float(np.abs(fl.loss - pred_loss).max() / drop),
            "max_gamma_error": float(np.abs(diag - pred_gamma).max()),
            "max_offdiagonal": float(np.abs(off).max()),
            "half_times_flow": _half_times(fl.t, diag, ms.gamma_star),
            "half_times_modes": _half_times(fl.t, pred_gamma, ms.gamma_star),
            "final_excess_loss": float(fl.loss[-1] - f_star), "note": note}


def _f_star(law, n) -> float:
    from markov_icl.symbolic.gaussian import restricted_optimum_closed_form

    return float(restricted_optimum_closed_form(law, law.d, n)[1])


def _empirical_limit_excess(law, n, obj, f_star: float) -> float:
    """Population loss above ``f*`` of the empirical minimiser over ``Gamma`` (the flow's limit from a small
    balanced start: ``W_K^T W_Q`` reaches every ``Gamma``), by least squares on the empirical objective."""
    from markov_icl.symbolic.modes import QuadraticObjective
    from markov_icl.symbolic.param import preset

    M, _ = preset("zfb", law.d).design()
    Mf = np.array(M.tolist(), dtype=float)
    g = np.linalg.solve(Mf.T @ obj.H_float @ Mf, Mf.T @ obj.beta_float)
    pop = QuadraticObjective.gaussian(law, n)
    X = Mf @ g
    return float(pop.E_y2_float - 2 * pop.beta_float @ X + X @ pop.H_float @ X - f_star)


def _rotation(d: int, rng) -> np.ndarray:
    Qm, Rm = np.linalg.qr(rng.normal(size=(d, d)))
    return Qm * np.sign(np.diag(Rm))


def seed_row(law, n, gamma0=1e-6, points=400, seed: int = 0, span: float = 3.0) -> dict:
    """The seed's assumptions (module docstring): the closed form against the flow."""
    from markov_icl.symbolic.modes import ModeSolution

    ms = ModeSolution.of(law, n)
    g0 = np.full(law.d, float(gamma0))
    T = span * ms.half_times(g0).max()
    R = _rotation(law.d, np.random.default_rng(seed))
    fl = mode_flow(law, n, aligned_theta(np.sqrt(g0), np.sqrt(g0), R), T, points)
    return _row("seed", fl, ms.loss(fl.t, g0), ms.gamma(fl.t, g0), ms, _f_star(law, n),
                "aligned (random orthogonal R), balanced, label column 0, population loss")


def mode_assumption_effects(law, n, gamma0: float = 1e-6, P=(20, 100, 1000, 10000), label_scale=(1e-3, 0.3),
                       seed: int = 0, points: int = 400, span: float = 3.0, progress=None) -> list[dict]:
    """One row per case of the module docstring (``finite_P`` once per P, ``key_label`` once per scale).

    Examples:
        >>> from markov_icl.symbolic.gaussian import GaussianLaw
        >>> rows = mode_assumption_effects(GaussianLaw((1, "1/2")), 10, P=(1000,), label_scale=(0.3,), points=30)
        >>> [r["case"] for r in rows]
        ['seed', 'unbalanced', 'unaligned', 'key_label 0.3', 'finite_P 1000']
        >>> bool(rows[0]["max_loss_error"] < 1e-8 < rows[2]["max_loss_error"])
        True
    """
    import torch

    from markov_icl.numeric.gaussian import sample_gaussian_prompts
    from markov_icl.numeric.prompts import enlarged_features
    from markov_icl.symbolic.modes import ModeSolution, QuadraticObjective, split_theta

    d = law.d
    ms = ModeSolution.of(law, n)
    fs = _f_star(law, n)
    rng = np.random.default_rng(seed)
    g0 = np.full(d, float(gamma0))
    T = span * ms.half_times(g0).max()
    eps = np.sqrt(gamma0)
    jobs: list[Any] = ["seed", "unbalanced", "unaligned", *[("key_label", s) for s in label_scale], *[("finite_P", p) for p in P]]
    rows = []
    for job in (progress(jobs, "assumptions") if progress else jobs):
        if job == "seed":
            rows.append(seed_row(law, n, gamma0, points, seed, span))
        elif job == "unbalanced":
            p0, q0 = 2 * eps * np.ones(d), eps / 2 * np.ones(d)
            fl = mode_flow(law, n, aligned_theta(p0, q0), T, points)
            row = _row("unbalanced", fl, ms.loss(fl.t, p0 * q0), ms.gamma(fl.t, p0 * q0), ms, fs,
                       "aligned, p0 = 4 q0 (gamma0 unchanged): the logistic form of balanced modes")
            exact = ms.gamma_unbalanced(fl.t, p0, q0)
            row["unbalanced_equation_error"] = float(np.abs(np.diagonal(fl.Gamma, 0, 1, 2) - exact).max())
            rows.append(row)
        elif job == "unaligned":
            WK = rng.normal(scale=eps, size=(d, d))
            WQ = rng.normal(scale=eps, size=(d, d))
            th0 = np.concatenate([WK.reshape(-1), WQ.reshape(-1)])
            gg = (((WK + WQ) / 2) ** 2).sum(0)
            fl = mode_flow(law, n, th0, T, points)
            rows.append(_row("unaligned", fl, ms.loss(fl.t, gg), ms.gamma(fl.t, gg), ms, fs,
                             "i.i.d. N(0, gamma0) entries; prediction from gamma0_alpha = |(k_alpha + q_alpha)/2|^2"))
        elif job[0] == "key_label":
            scale = job[1]
            col = rng.normal(scale=scale, size=d)
            th0 = aligned_theta(np.sqrt(g0), np.sqrt(g0), label_column=col)
            fl = mode_flow(law, n, th0, T, points, key_label=True)
            row = _row(f"key_label {scale:g}", fl, ms.loss(fl.t, g0), ms.gamma(fl.t, g0), ms, fs,
                       f"seed's start plus a label column w_Ky ~ N(0, {scale:g}^2)")
            K, _ = split_theta(fl.theta, d, None, True)
            row["label_column_end"] = float(np.abs(K[-1, :, d]).max())
            rows.append(row)
        else:
            Pn = job[1]
            if Pn * (n + 1) * (d + 1) > 10**7:
                raise MarkovICLError(f"finite P = {Pn}: too many sampled entries")
            g = torch.Generator().manual_seed(seed + Pn)
            pb = sample_gaussian_prompts(law, d, n, Pn, generator=g)
            feats = enlarged_features(pb.Z0).numpy()
            obj = QuadraticObjective.empirical(feats, pb.y.numpy(), d)
            fl = mode_flow(law, n, aligned_theta(np.sqrt(g0), np.sqrt(g0)), T, points, objective=obj)
            row = _row(f"finite_P {Pn}", fl, ms.loss(fl.t, g0), ms.gamma(fl.t, g0), ms, fs,
                       f"flow of the empirical loss of {Pn} prompts (seed {seed + Pn}); population loss shown")
            row["limit_excess_loss"] = _empirical_limit_excess(law, n, obj, fs)
            rows.append(row)
    return rows


def markov_mode_analogue(d: int, p="1/2", n: int = 10, gamma0: float = 1e-6, span: float = 60.0, points: int = 400) -> dict:
    """The key-query head on Markov prompts: the modes couple.

    With the label column zero the loss is a quadratic in ``Gamma`` (``d x d``), ``f = c - 2 b^T vec(Gamma) +
    vec(Gamma)^T M vec(Gamma)``; in the singular basis ``(u_alpha, v_alpha)`` of its minimiser ``Gamma*`` a
    decoupled mode would follow the logistic curve of rate ``4 b_alpha`` to ``b_alpha / M_alpha,alpha`` (the same
    formula as the Gaussian modes). Returns the coupling (off-diagonal share of M in that basis), the flow from the
    aligned balanced start against the decoupled prediction, the exact optima with the label column zero (ZFB's
    family) and free, and the conservation law's derivative (an exact polynomial, 0).

    Examples:
        >>> r = markov_mode_analogue(1, "1/2", 10, points=40)
        >>> r["coupling"], r["f_zfb_star"], r["f_label_free_star"], r["conservation_zero"]
        (0.0, '13/36', '223/630', True)
    """
    import sympy as sp

    from markov_icl.symbolic.dynamics import PopulationLoss
    from markov_icl.symbolic.modes import conservation_derivative, join_theta, key_query, split_theta
    from markov_icl.symbolic.param import Parameterization, optimum
    from markov_icl.symbolic.solve import solve

    sol = solve(d, p, n)
    D = d + 1
    loss = PopulationLoss(key_query(d), sol)
    f_fn, grad = loss.lambdify()
    # the quadratic in Gamma: X = phi(e_D, [Gamma; 0]) is linear in vec(Gamma)
    Gs = sp.Matrix(d, d, lambda i, j: sp.Symbol(f"g_{i}_{j}"))
    zfb = Parameterization("gamma", d, sp.ImmutableMatrix(sp.diag(*([0] * d + [1]))),
                           sp.ImmutableMatrix(sp.Matrix.vstack(Gs, sp.zeros(1, d)).row_join(sp.zeros(D, 1))),
                           tuple(Gs))
    Afree = sp.Matrix(D, d, lambda i, j: sp.Symbol(f"a_{i}_{j}"))
    full = Parameterization("label_free", d, zfb.P, sp.ImmutableMatrix(Afree.row_join(sp.zeros(D, 1))), tuple(Afree))
    o_zfb = optimum(param=zfb, solution=sol, with_f_star=False)
    o_full = optimum(param=full, solution=sol, with_f_star=False)
    Mdes, _ = zfb.design()
    Hm = sol.H_float
    Mq = np.array(Mdes.tolist(), dtype=float)
    Mg = Mq.T @ Hm @ Mq                         # vec(Gamma)^T Mg vec(Gamma), vec over (i, j) row-major
    bg = Mq.T @ sol.beta_float
    Gstar = np.array(o_zfb.theta_star, dtype=float).reshape(d, d)
    U, S, Vt = np.linalg.svd(Gstar)
    basis = np.array([np.outer(U[:, a], Vt[a]).reshape(-1) for a in range(d)] +
                     [np.outer(U[:, a], Vt[b]).reshape(-1) for a in range(d) for b in range(d) if a != b])
    Mb = basis @ Mg @ basis.T
    bb = basis @ bg
    coupling = float(np.linalg.norm(Mb - np.diag(np.diag(Mb))) / np.linalg.norm(Mb))
    rate = 4 * bb[:d]
    gstar_dec = bb[:d] / np.diag(Mb)[:d]
    g0 = np.full(d, gamma0)
    half_pred = np.log(np.abs(gstar_dec) / g0 - 1) / np.abs(rate)
    T = span * float(half_pred.max())
    th0 = join_theta(np.diag(np.sqrt(g0)) @ U.T, np.diag(np.sqrt(g0)) @ Vt)  # Gamma(0) = U diag(g0) V^T
    t = np.concatenate([[0.0], np.geomspace(1e-2, T, points - 1)])
    th = _segments(grad, th0, t)
    WK, WQ = split_theta(th, d)
    G = np.einsum("tau,tav->tuv", WK[..., :d], WQ)
    modes = np.einsum("tuv,au,av->ta", G, U.T, Vt)        # u_alpha^T Gamma v_alpha
    pred = gstar_dec / (1 + (gstar_dec / g0 - 1) * np.exp(-rate * t[:, None]))
    Gpred = np.einsum("ta,au,av->tuv", pred, U.T, Vt)
    Lpred = float(sol.E_y2_float) - 2 * (Gpred.reshape(len(t), -1) @ bg) + np.einsum(
        "ti,ij,tj->t", Gpred.reshape(len(t), -1), Mg, Gpred.reshape(len(t), -1))
    L = np.asarray(f_fn(th), dtype=float)
    fz = float(o_zfb.f_param_star)
    near = np.flatnonzero(L - fz > 1e-6)
    half_flow = _half_times(t, modes, modes[-1])
    cons = conservation_derivative(PopulationLoss(key_query(d, key_label=True), sol), d, key_label=True)
    return {"d": d, "p": str(sol.p), "n": n, "coupling": coupling, "singular_values_star": S.tolist(),
            "decoupled_limits": gstar_dec.tolist(), "decoupled_rates": rate.tolist(),
            "max_loss_error": float(np.abs(L - Lpred).max()), "relative_loss_error":
                float(np.abs(L - Lpred).max() / (L[0] - float(o_zfb.f_param_star))),
            "final_modes": modes[-1].tolist(), "final_loss": float(L[-1]), "decoupled_final_loss": float(Lpred[-1]),
            "half_times_modes": half_pred.tolist(), "half_times_flow": half_flow,
            "t_within_1e-6": float(t[near[-1] + 1]) if len(near) and near[-1] + 1 < len(t) else None,
            "f_zfb_star": str(o_zfb.f_param_star), "f_zfb_star_float": float(o_zfb.f_param_star),
            "f_label_free_star": str(o_full.f_param_star), "f_label_free_star_float": float(o_full.f_param_star),
            "f_tilde_star": float(sol.f_tilde_star),  # type: ignore[arg-type]
            "conservation_zero": bool(cons.is_zero_matrix), "T": T}


__all__ = ["ModeFlow", "mode_flow", "aligned_theta", "seed_row", "mode_assumption_effects", "markov_mode_analogue"]
