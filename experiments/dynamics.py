"""Learning dynamics of a one-layer parameterization: the exact gradient flow against training.

``markov-icl dynamics`` (theory §12). At a numeric ``(d, p, n)`` the population loss of the
parameterization (``--param``, default the sparse one-layer LSA ``b^T G A x_q``) is an exact
polynomial (:class:`~markov_icl.symbolic.dynamics.PopulationLoss`). From ``theta_0 ~ N(0,
init_scale^2)`` (seeded) the run

* integrates the exact gradient flow ``theta' = -grad f`` (SciPy DOP853, ``--rtol``);
* runs gradient descent with step ``--lr`` on the exact gradient (time ``t = step * lr``);
* trains the numeric model (:class:`~markov_icl.numeric.lsa.ParamLSA`) by full-batch gradient
  descent with the same step on ``--dataset`` sampled prompts, and by Adam (``--adam-lr``,
  ``--adam-steps``) as people train it; every trajectory's loss is the exact population loss
  of its parameters;
* predicts, for a bilinear parameterization (``sparse``, ``dense``), the stages from the exact
  objective alone: the first plateau ``E[y^2]`` (the origin is a saddle), the escape time of the
  rank-one logistic flow along the top singular pair of the bilinear form, the level reached
  (``E[y^2] - sigma^2 / kappa``) and the nearest critical point there (a root search of the exact
  gradient; its loss is the second plateau, its Hessian index says saddle or minimum); and
  tracks the invariant ``||b||^2 - ||A||_F^2`` and the singular values ``||b|| sigma_j(A)`` of
  ``b (kron) A``; for a linear parameterization (``ahn``, ``zfb``, ``gd``) the exact solution
  ``theta(t) = theta* + exp(-2 G t) (theta_0 - theta*)`` and its learning curve.

Outputs (atomic writes): ``dynamics.csv`` (one row per recorded time), ``dynamics_adam.csv``
(one row per recorded Adam step), ``dynamics.png``.

Examples:
    >>> rows, adam, info = run(DynamicsConfig(time=2.0, points=5, dataset=200, adam_steps=5, lr=0.5))
    >>> len(rows), info["stages"]["second_index"], round(info["stages"]["plateau_1"], 6)
    (5, 1, 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from markov_icl.errors import MarkovICLError, shown
from markov_icl.experiments.config import Config, option, write_outputs
from markov_icl.io import pyplot, save_figure
from markov_icl.limits import MAX_STEPS, check_prompt_entries
from markov_icl.symbolic.param import LINEAR_PRESETS, PRESETS

#: the largest d (the exact polynomial loss of the dense LSA has O(d^8) terms)
MAX_DYNAMICS_D = 3


@dataclass(frozen=True)
class DynamicsConfig(Config):
    """Options of ``markov-icl dynamics``."""

    d: int = option(1, "chain input length", "int>=1", at_most=MAX_DYNAMICS_D, why="the exact polynomial loss")
    p: str = option("1/2", "initial-state probability, exact", "p")
    n: int = option(10, "context chains", "int>=1")
    param: str = option("sparse", "parameterization: " + ", ".join(PRESETS), "choice", tuple(PRESETS))
    init_scale: float = option(0.001, "std of the initial parameters", "float>0")
    time: float | None = option(None, "flow time to integrate (default: 6 x the predicted escape time for a bilinear "
                                      "parameterization, 3 x the slowest timescale for a linear one)", "float>0?",
                                at_most=1e6, why="one command")
    lr: float = option(0.05, "gradient-descent step (exact gradient and sampled prompts); t = steps x lr", "float>0")
    dataset: int = option(20_000, "sampled prompts of the full-batch training", "int>=1")
    adam_lr: float = option(0.01, "Adam's learning rate", "float>0")
    adam_steps: int = option(2000, "Adam steps", "int>=1", at_most=MAX_STEPS, why="one command")
    points: int = option(400, "recorded times (at least 2)", "int>=1", at_most=100_000, why="CSV rows")
    rtol: float = option(1e-10, "relative tolerance of the ODE solver", "float>0", at_most=1e-3,
                         why="the invariant is checked against it")
    seed: int = option(0, "seed of the initialisation and the sampled prompts", "seed")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.points < 2:
            raise MarkovICLError(f"--points must be at least 2, got {self.points}")
        check_prompt_entries("--dataset", self.dataset, self.n, self.d, per_entry=4)
        if self.time is not None:
            _check_time_and_lr(self.time, self)


#: the longest flow time of one command (``--time``'s limit; the default time obeys it too)
MAX_TIME = 1e6


def _check_time_and_lr(T: float, c: DynamicsConfig) -> None:
    """The flow time ``T`` (given, or the default) within :data:`MAX_TIME`, and one step ``--lr`` no longer than it:
    the run integrates to ``steps x lr``, so a step longer than ``T`` would integrate past it."""
    what = "--time" if c.time is not None else "the default flow time"
    if not T <= MAX_TIME:
        raise MarkovICLError(f"{what} {shown(T)} is above the limit {MAX_TIME:g} of one command; give a shorter --time")
    if c.lr > T:
        raise MarkovICLError(f"--lr {shown(c.lr)} is longer than {what} {T:.4g} (the run integrates to steps x lr): "
                             "give --lr at most the flow time")


def run(config: DynamicsConfig, progress: bool = True):
    """The trajectories and the predictions; returns ``(rows, adam_rows, info)``."""
    from markov_icl.numeric.dynamics import IterateCrossing, descend, flow_crossing, integrate_flow, train_on_prompts
    from markov_icl.symbolic.dynamics import (
        LinearFlow,
        PopulationLoss,
        critical_point,
        escape_prediction,
        origin_saddle,
        reduced_critical_points,
    )
    from markov_icl.symbolic.param import preset
    from markov_icl.symbolic.solve import solve
    from markov_icl.symbolic.varpro import best_one_layer

    c = config
    sol = solve(c.d, c.p, c.n)
    param = preset(c.param, c.d)
    L = PopulationLoss(param, sol)
    loss_fn, grad_fn = L.lambdify("numpy")
    k = len(L.symbols)
    theta0 = np.random.default_rng(c.seed).normal(0.0, c.init_scale, k)
    linear = c.param in LINEAR_PRESETS
    info: dict = {"k": k, "E_y2": float(sol.E_y2), "f_tilde_star": float(sol.f_tilde_star), "stages": {}}
    if linear:
        flow = LinearFlow.of(param, sol)
        info["f_param_star"] = float(flow.f_star)
        info["timescales"] = flow.timescales.tolist()
        T = c.time if c.time is not None else 3 * float(flow.timescales.max())
        escape = None
    else:
        saddle = origin_saddle(L)
        escape = escape_prediction(L, theta0)
        if c.time is None:  # the default flow time is known now: check --lr against it before the slow parts
            _check_time_and_lr(6 * escape.t_mid, c)
        crit = critical_point(L, escape.theta_end)
        fs = best_one_layer(sol)
        landscape = reduced_critical_points(L)
        info.update(origin_eigenvalues=saddle.eigenvalues.tolist(), origin_index=saddle.index,
                    f_star=float(fs.f_star), second_plateau=crit.loss, second_index=crit.index,
                    second_unstable=float(crit.eigenvalues[0]),
                    critical_points=[{"loss": q.loss, "index": q.index} for q in landscape])
        T = c.time if c.time is not None else 6 * escape.t_mid
    _check_time_and_lr(T, c)
    steps = max(1, int(round(T / c.lr)))
    if steps > MAX_STEPS:
        raise MarkovICLError(f"--time / --lr = {shown(T / c.lr)} gradient steps; at most {MAX_STEPS} (raise --lr or "
                             "lower --time)")
    T = steps * c.lr
    every = max(1, steps // (c.points - 1))
    atol = c.rtol * 1e-3 * max(c.init_scale, 1e-12)
    # the escape: the first crossing of the level halfway between the plateau and the rank-one level, on every
    # GD iterate (IterateCrossing) and on the flow's dense output (flow_crossing), not on the recorded grid
    level = None if linear else (escape.plateau + escape.after) / 2
    cross = {} if linear else {name: IterateCrossing(loss_fn, level, c.lr, theta0) for name in ("gd", "train")}
    t_gd, th_gd = descend(grad_fn, theta0, c.lr, steps, every=every, on_step=cross.get("gd"))
    t_fl, th_fl = integrate_flow(grad_fn, theta0, T, t_gd, rtol=c.rtol, atol=atol)
    t_tr, th_tr = train_on_prompts(param, sol.law, c.n, theta0, c.lr, steps, optimizer="sgd", dataset_size=c.dataset,
                                   seed=c.seed, every=every, on_step=cross.get("train"))
    adam_every = max(1, c.adam_steps // (c.points - 1))
    t_ad, th_ad = train_on_prompts(param, sol.law, c.n, theta0, c.adam_lr, c.adam_steps, optimizer="adam",
                                   dataset_size=c.dataset, seed=c.seed, every=adam_every)
    losses = {name: loss_fn(th) for name, th in (("flow", th_fl), ("gd", th_gd), ("train", th_tr))}
    rows = []
    if linear:
        predicted = flow.loss(t_gd, theta0)
        gd_exact = flow.gd_iterates(steps, c.lr, theta0)[np.round(t_gd / c.lr).astype(int)]
        info["max_flow_vs_exact_curve"] = float(np.abs(losses["flow"] - predicted).max())
        info["max_gd_vs_exact_iterates"] = float(np.abs(th_gd - gd_exact).max())
        info["max_gd_loss_vs_exact"] = float(np.abs(losses["gd"] - loss_fn(gd_exact)).max())
        info["max_train_vs_curve"] = float(np.abs(losses["train"] - loss_fn(gd_exact)).max())
        info["max_gd_vs_flow"] = float(np.abs(losses["gd"] - predicted).max())
        for i, t in enumerate(t_gd):
            rows.append({"t": t, "flow_loss": losses["flow"][i], "gd_loss": losses["gd"][i],
                         "train_loss": losses["train"][i], "predicted_loss": predicted[i]})
        adam_rows = [{"step": s, "loss": v} for s, v in zip(t_ad, loss_fn(th_ad))]
    else:
        predicted = escape.loss_at(t_gd)
        def invariant(th):  # ||b||^2 - ||A||_F^2 (L.rescaling_invariant, every entry of b and A free here)
            b, A = L.bilinear_parts(th)
            return (b ** 2).sum(-1) - (A ** 2).sum((-2, -1))

        inv = {name: invariant(th) for name, th in (("flow", th_fl), ("gd", th_gd), ("train", th_tr), ("adam", th_ad))}
        b_fl, A_fl = L.bilinear_parts(th_fl)
        svs = np.linalg.norm(b_fl, axis=-1)[:, None] * np.linalg.svd(A_fl, compute_uv=False)
        info["stages"] = {
            "escape_level": level,
            "escape_time_predicted": escape.t_mid,
            "escape_time_measured": {"flow": flow_crossing(grad_fn, loss_fn, theta0, level, T, rtol=c.rtol, atol=atol),
                                     **{n: cross[n].time for n in ("gd", "train")}},
            "escape_step": {n: cross[n].step for n in ("gd", "train")},
            "plateau_1": escape.plateau, "after_escape_predicted": escape.after,
            "second_plateau": crit.loss, "second_index": crit.index,
            "loss_at_end": {n: float(losses[n][-1]) for n in ("flow", "gd", "train")},
        }
        info["invariant_drift"] = {n: float(np.abs(v - v[0]).max()) for n, v in inv.items()}
        info["invariant_0"] = float(inv["flow"][0])
        for i, t in enumerate(t_gd):
            row = {"t": t, "flow_loss": losses["flow"][i], "gd_loss": losses["gd"][i], "train_loss": losses["train"][i],
                   "predicted_loss": predicted[i], "flow_invariant": inv["flow"][i], "gd_invariant": inv["gd"][i],
                   "train_invariant": inv["train"][i]}
            row.update({f"flow_sv_{j + 1}": v for j, v in enumerate(svs[i])})
            rows.append(row)
        adam_rows = [{"step": s, "loss": v, "invariant": q} for s, v, q in zip(t_ad, loss_fn(th_ad), inv["adam"])]
    info.update(time=T, steps=steps, theta0=theta0.tolist(), linear=linear)
    return rows, adam_rows, info


def plot(result, config: DynamicsConfig, path: Path) -> Path:
    """Loss vs time (theory against training, stages marked), the invariant, Adam, and the spectrum of b (kron) A."""
    plt = pyplot()
    rows, adam_rows, info = result
    c = config
    t = np.array([r["t"] for r in rows])
    floor = info.get("f_param_star", info.get("f_star", info["f_tilde_star"]))
    if info["linear"]:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.0))
        ax_loss, ax_adam = axes
    else:
        fig, axes = plt.subplots(2, 2, figsize=(11, 7.6))
        (ax_loss, ax_inv), (ax_adam, ax_sv) = axes
    ax = ax_loss
    for key, style, label in (("flow_loss", "-", "exact gradient flow"), ("gd_loss", "--", f"GD, lr = {c.lr:g}"),
                              ("train_loss", ":", f"GD on {c.dataset} sampled prompts"),
                              ("predicted_loss", "-.", "exact solution" if info["linear"] else "rank-one logistic")):
        ax.semilogy(t, np.maximum(np.array([r[key] for r in rows]) - floor, 1e-16), style, lw=1.2, label=label)
    if not info["linear"]:
        st = info["stages"]
        ax.axvline(st["escape_time_predicted"], color="grey", lw=0.8, ls="--", label="predicted escape time")
        for lvl, name in ((st["plateau_1"], r"plateau 1: $E[y^2]$"), (st["second_plateau"], "plateau 2: the saddle")):
            ax.axhline(lvl - floor, color="grey", lw=0.6, ls=":")
            ax.annotate(name, (t[-1], lvl - floor), fontsize=7, ha="right", va="bottom")
    ax.set_xlabel(r"time $t$ (= steps $\times$ lr)")
    ax.set_ylabel(r"$f(\theta(t)) - f^*$" if not info["linear"] else r"$f(\theta(t)) - f^*_{\mathrm{param}}$")
    ax.set_title(rf"{c.param}, $d = {c.d}$, $p = {c.p}$, $n = {c.n}$, init scale ${c.init_scale:g}$", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax = ax_adam
    steps = np.array([r["step"] for r in adam_rows])
    ax.semilogy(steps, np.maximum(np.array([r["loss"] for r in adam_rows]) - floor, 1e-16), color="C4",
                label="loss above the optimum")
    ax.set_xlabel("Adam step")
    ax.set_ylabel("loss above the optimum", color="C4")
    ax.set_title(f"Adam, lr = {c.adam_lr:g}, on the same {c.dataset} sampled prompts", fontsize=9)
    ax.grid(alpha=0.3)
    if not info["linear"]:
        q = np.array([r["invariant"] for r in adam_rows])
        ax2 = ax.twinx()
        ax2.plot(steps, q - q[0], color="C5", lw=1.0)
        ax2.set_ylabel(r"Adam's $Q - Q(0)$", color="C5")
        ax = ax_inv
        for key, style, label in (("flow_invariant", "-", "exact flow"), ("gd_invariant", "--", f"GD, lr = {c.lr:g}"),
                                  ("train_invariant", ":", "GD on sampled prompts")):
            v = np.array([r[key] for r in rows])
            ax.plot(t, v - v[0], style, label=label)
        ax.set_xlabel("time $t$")
        ax.set_ylabel(r"$Q(t) - Q(0)$,  $Q = \|b\|^2 - \|A\|_F^2$")
        ax.set_title("the conserved quantity (drift of GD: $O(\\mathrm{lr})$)", fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        ax = ax_sv
        keys = sorted(k for k in rows[0] if k.startswith("flow_sv_"))
        for j, key in enumerate(keys):
            ax.semilogy(t, np.maximum([r[key] for r in rows], 1e-300), label=rf"$\|b\|\,\sigma_{j + 1}(A)$")
        ax.set_xlabel("time $t$")
        ax.set_ylabel(r"singular values of $b \otimes A$")
        ax.set_title("macroscopic: the spectrum along the flow", fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def write(result, config: DynamicsConfig, out: Path, plot_figure: bool = True) -> list[Path]:
    """``dynamics.csv``, ``dynamics_adam.csv``, ``dynamics.png``."""
    rows, adam_rows, _ = result
    return write_outputs(out, {"dynamics.csv": rows, "dynamics_adam.csv": adam_rows},
                         ("dynamics.png", lambda path: plot(result, config, path)) if plot_figure else None)


def _fmt(v, digits: int = 4) -> str:
    return "-" if v is None else f"{v:.{digits}g}"


def summary(result, config: DynamicsConfig, seconds: float) -> str:
    """What ``markov-icl dynamics`` prints."""
    rows, adam_rows, info = result
    c = config
    head = (f"dynamics: {c.param} at d = {c.d}, p = {c.p}, n = {c.n}; {info['k']} parameters from N(0, "
            f"{c.init_scale:g}^2), flow to t = {info['time']:g} ({info['steps']} GD steps of {c.lr:g}), "
            f"{seconds:.0f} s")
    lines = [head]
    if info["linear"]:
        lines += [f"exact flow theta(t) = theta* + exp(-2 G t)(theta0 - theta*); f_param* = {info['f_param_star']:.6f}, "
                  f"timescales 1/(2 lambda) = " + ", ".join(f"{v:.4g}" for v in info["timescales"]),
                  f"  |flow (ODE) - exact curve|      max {info['max_flow_vs_exact_curve']:.2e}",
                  f"  |GD - exact GD iterates| (theta) max {info['max_gd_vs_exact_iterates']:.2e}; its loss vs the "
                  f"continuous curve: max {info['max_gd_vs_flow']:.2e} (O(lr))",
                  f"  |GD on prompts - exact GD curve| max {info['max_train_vs_curve']:.2e} (Monte Carlo, {c.dataset} "
                  "prompts)",
                  f"Adam (lr {c.adam_lr:g}, {c.adam_steps} steps) ends at {adam_rows[-1]['loss']:.6f}"]
        return "\n".join(lines)
    st, drift = info["stages"], info["invariant_drift"]
    ev = ", ".join(f"{v:+.4f}" for v in info["origin_eigenvalues"])
    meas, step = st["escape_time_measured"], st["escape_step"]

    def at(name):
        return _fmt(meas[name], 5) + ("" if step[name] is None else f" (step {step[name]})")

    lines += [
        f"origin: a saddle, Hessian eigenvalues {ev} (index {info['origin_index']})",
        f"stage 1: plateau E[y^2] = {st['plateau_1']:.6f}; escape (loss halfway to {st['after_escape_predicted']:.6f}) "
        f"predicted t = {_fmt(st['escape_time_predicted'], 5)}, measured: flow {_fmt(meas['flow'], 5)}, "
        f"GD {at('gd')}, GD on prompts {at('train')}",
        f"stage 2: nearest critical point after the escape: loss {st['second_plateau']:.6f}, Hessian index "
        f"{st['second_index']} ({'a saddle' if st['second_index'] else 'a local minimum'}; unstable eigenvalue "
        f"{info['second_unstable']:+.3g})",
        f"end (t = {info['time']:g}): flow {st['loss_at_end']['flow']:.6f}, GD {st['loss_at_end']['gd']:.6f}, "
        f"GD on prompts {st['loss_at_end']['train']:.6f}; f* = {info['f_star']:.6f}, f~* = {info['f_tilde_star']:.6f}",
        "critical points through the variable projection (loss, Hessian index; 0 = a local minimum): "
        + ", ".join(f"{q['loss']:.6f} ({q['index']})" for q in info["critical_points"]),
        f"invariant ||b||^2 - ||A||_F^2 = {info['invariant_0']:.3e} at t = 0; largest drift: flow {drift['flow']:.1e} "
        f"(rtol {c.rtol:g}), GD {drift['gd']:.1e}, GD on prompts {drift['train']:.1e}, Adam {drift['adam']:.1e}",
    ]
    return "\n".join(lines)


CONFIG = DynamicsConfig

__all__ = ["DynamicsConfig", "CONFIG", "run", "write", "plot", "summary", "MAX_DYNAMICS_D"]
