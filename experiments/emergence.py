"""Macroscopic measures along training: calibrated on exact LSA flows, then applied to GPT-2 (theory §17).

Seed 003 proposes measures of weight matrices that should mark the stages of learning in nonlinear transformers:
the effective rank of the query-key matrices, its marginalised version (the top singular value dropped) and the
subspace stability ``min_A ||A M(t) - M(inf)||`` (:mod:`markov_icl.numeric.measures`). This experiment first
computes them where the stage times are known exactly, then along the training of the GPT-2 model of Fig. 6.

* **Calibration** (exact flows): the sparse one-layer LSA (theory §12) at ``d in --lsa-ds``, ``p``, ``n``, from
  ``--lsa-seeds`` Gaussian initialisations of scale ``--lsa-scale``; the gradient flow of the exact population loss
  (DOP853, rtol 1e-10). Known stage times: the escape from the origin (``t_mid`` of
  :func:`~markov_icl.symbolic.dynamics.escape_prediction`, and the flow's own half-drop time) and the departure
  from the saddle it lands on (half-way from the saddle's loss, found by a root search from the escape's end point,
  to the final loss). Matrices: ``A^T`` (the ``d x (d+1)`` block of the key-query matrix that reaches the
  prediction; at d = 1 a vector, so only its subspace stability is informative) and ``S = [S_1 ... S_d]``, the
  enlarged-space matrices ``S_j = (b a_j^T + a_j b^T) / 2`` (theory §3).
* **GPT-2** (the model of Fig. 6, :class:`~markov_icl.numeric.softmax.SoftmaxICL`, trained by
  :meth:`~markov_icl.experiments.fig6.SoftmaxConfig.train` on binary chains, ``n`` context chains): the held-out
  in-context loss (the training objective on ``--eval`` fixed prompts) and, per layer and head, the measures of
  ``QK = W_Q,h W_K,h^T`` and ``OV = W_V,h W_O,h``, recorded ``--records`` times (log-spaced and uniform steps),
  for ``--seeds`` seeds. The stage time of the loss is its half-drop step and the half-way point of the in-context
  gain (the loss below ``log |S|``, the best loss of a rule that ignores the context under uniform kernels).

Outputs (atomic writes): ``emergence_lsa.csv`` (time series of the flows), ``emergence_lsa_summary.csv`` (per d and
seed: stage times and the measures' dip times), ``emergence_gpt2.csv`` (time series per seed, layer, head and
matrix), ``emergence_gpt2_summary.csv`` (per seed, layer, head, matrix: the loss's and the measures' times),
``emergence.png``.

Examples:
    >>> res = run(EmergenceConfig(lsa_ds=(1,), lsa_seeds=1, lsa_time=40.0, lsa_points=60, seeds=1, steps=3, eval=8,
    ...                           width=8, layers=1, heads=1, n=4, records=3), progress=False)
    >>> sorted(res), res["lsa_summary"][0]["d"]
    (['gpt2', 'gpt2_summary', 'lsa', 'lsa_summary'], 1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from markov_icl.errors import MarkovICLError
from markov_icl.experiments.config import option, write_outputs
from markov_icl.experiments.fig6 import SoftmaxConfig
from markov_icl.io import pyplot, save_figure
from markov_icl.limits import MAX_STEPS

MATRICES = ("QK", "OV")


@dataclass(frozen=True)
class EmergenceConfig(SoftmaxConfig):
    """Options of ``markov-icl experiment emergence`` (GPT-2's options as in Fig. 6; laptop defaults)."""

    PAPER_NOTE = "no figure of the paper: GPT-2 at the size of Garg et al. 2022 (GPU-scale), 5 seeds"
    PAPER = {**SoftmaxConfig.PAPER, "seeds": 5}

    d: int = option(2, "chain input length of the GPT-2 prompts (binary chains)", "int>=1", at_most=16, why="one command")
    n: int = option(20, "context chains of the GPT-2 prompts", "int>=1")
    steps: int = option(1500, "Adam steps per GPT-2 model", "int>=1", at_most=MAX_STEPS, why="one command")
    lr: float = option(0.0003, "Adam learning rate (cosine decay to 0)", "float>0")
    seeds: int = option(5, "GPT-2 seeds (a model each; the held-out prompts are shared)", "int>=1")
    eval: int = option(1000, "held-out prompts of the in-context loss", "int>=1")
    records: int = option(80, "steps at which the loss and the measures are recorded", "int>=1", at_most=10_000,
                          why="the size of the CSV")
    gpt2: bool = option(True, "train GPT-2 (off: the exact-flow calibration only)", "bool")
    lsa_ds: tuple = option((1, 2), "d of the exact one-layer LSA flows (calibration)", "ints>=1", at_most=3,
                           why="the exact flows")
    lsa_p: str = option("1/2", "initial-state probability of the LSA flows, exact", "p")
    lsa_n: int = option(10, "context chains of the LSA flows", "int>=1")
    lsa_seeds: int = option(3, "initialisations of each LSA flow", "int>=1")
    lsa_scale: float = option(0.001, "scale of the Gaussian initialisation of the LSA flows", "float>0")
    lsa_time: float = option(3000.0, "duration of the LSA flows", "float>0", at_most=1e6, why="one command")
    lsa_points: int = option(600, "recorded times of each LSA flow", "int>=1", at_most=100_000, why="the CSV")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.gpt2:
            self.check_model((2,), self.n, self.d, self.eval)
        if self.lsa_scale > 0.1:
            raise MarkovICLError(f"--lsa-scale must be at most 0.1 (the escape prediction needs a small start), got "
                                 f"{self.lsa_scale:g}")


# ------------------------------------------------------------------------------------------------ exact flows
def _clean(row: dict) -> dict:
    """Floats that are not finite (a measure that does not apply, a time never reached) become None (empty cells)."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}


def _arr(rows, key) -> np.ndarray:
    return np.array([np.nan if r[key] is None else r[key] for r in rows], dtype=float)


def _settle(t, v, level: float) -> float:
    """The first time after which ``v`` stays below ``level``, interpolated linearly (NaN if it ends above)."""
    t, v = np.asarray(t, float), np.asarray(v, float)
    if not np.isfinite(v[-1]) or v[-1] >= level:
        return float("nan")
    above = np.flatnonzero(~(v < level))
    if not len(above):
        return float(t[0])
    j = above[-1]
    v0, v1 = v[j], v[j + 1]
    return float(t[j] + (v0 - level) / (v0 - v1) * (t[j + 1] - t[j])) if np.isfinite(v0) and v0 != v1 else float(t[j + 1])


def lsa_calibration(d: int, p, n: int, seed: int, scale: float, T: float, points: int) -> tuple[list[dict], dict]:
    """One exact flow of the sparse LSA with the measures along it: ``(time series rows, summary row)``."""
    from markov_icl.numeric.dynamics import integrate_flow
    from markov_icl.numeric.measures import _crossing, dip, effective_rank, loss_drop, marginal_effective_rank, subspace_distance
    from markov_icl.symbolic.dynamics import PopulationLoss, critical_point, escape_prediction
    from markov_icl.symbolic.param import preset
    from markov_icl.symbolic.solve import solve

    sol = solve(d, p, n)
    loss = PopulationLoss(preset("sparse", d), sol)
    f, grad = loss.lambdify()
    th0 = scale * np.random.default_rng(seed).normal(size=len(loss.symbols))
    esc = escape_prediction(loss, th0)
    early = min(T, 4 * esc.t_mid)
    ts = np.unique(np.concatenate([np.linspace(0, early, points // 2), np.geomspace(1e-2, T, points - points // 2)]))
    t, th = integrate_flow(grad, th0, T, ts)
    b, A = loss.bilinear_parts(th)
    L = np.asarray(f(th), dtype=float)
    S = [np.hstack([(np.outer(bb, AA[:, j]) + np.outer(AA[:, j], bb)) / 2 for j in range(d)]) for bb, AA in zip(b, A)]
    series = {"erank_A": [effective_rank(a.T) if d > 1 else float("nan") for a in A],
              "erank_S": [effective_rank(s) for s in S],
              "marginal_erank_S": [marginal_effective_rank(s, 1) for s in S],
              "stability_A": [subspace_distance(a.T, A[-1].T) for a in A],
              # a matrix with full column rank contains every row space: its distance is 0 at every t (d = 1)
              "stability_S": [subspace_distance(s, S[-1]) if s.shape[0] < s.shape[1] else float("nan") for s in S]}
    rows = [_clean({"d": d, "seed": seed, "t": float(t[i]), "loss": float(L[i]),
                    **{k: float(v[i]) for k, v in series.items()}}) for i in range(len(t))]
    w = t <= early
    first = loss_drop(t[w], L[w])
    saddle = critical_point(loss, esc.theta_end)
    final = float(L[-1])
    summ = {"d": d, "seed": seed, "p": str(sol.p), "n": n, "t_escape_predicted": esc.t_mid,
            "t_escape_flow": first["t_half"], "saddle_loss": saddle.loss, "saddle_index": saddle.index,
            "final_loss": final}
    if saddle.loss - final > 1e-7:
        level = 0.5 * (saddle.loss + final)
        late = t > first["t_90"]
        summ["t_stage2"] = _crossing(t[late], L[late], level, falling=True)
    else:
        summ["t_stage2"] = float("nan")
    for k, v in series.items():
        if np.isnan(np.asarray(v, float)).all():
            continue
        if k.startswith("stability"):
            for lvl in (0.5, 0.1):
                summ[f"{k}_settle_{lvl:g}"] = _settle(t, v, lvl)
            summ[f"{k}_max"] = float(np.nanmax(v))
            summ[f"{k}_t_max"] = float(t[int(np.nanargmax(v))])
        else:
            dp = dip(t, v)
            for key in ("start", "min", "t_min", "t_half", "t_90", "t_rise_half"):
                summ[f"{k}_{key}"] = dp[key]
            summ[f"{k}_lag_min"] = dp["t_min"] - summ["t_escape_flow"]        # the dip against the escape
            summ[f"{k}_lag_rise"] = dp["t_rise_half"] - summ["t_stage2"]      # the recovery against the saddle exit
    return rows, _clean(summ)


# ------------------------------------------------------------------------------------------------ GPT-2
def record_steps(steps: int, records: int) -> list[int]:
    """Steps ``0..steps-1`` at which to record: half log-spaced, half uniform, always the first and the last.

    Examples:
        >>> record_steps(100, 6)
        [0, 9, 50, 99]
    """
    lo = np.unique(np.geomspace(1, steps, max(records // 2, 1)).astype(int) - 1)
    uni = np.linspace(0, steps - 1, max(records - records // 2, 2)).round().astype(int)
    return sorted({0, steps - 1, *lo.tolist(), *uni.tolist()})


def gpt2_run(config: EmergenceConfig, seed: int, test, progress=None) -> tuple[list[dict], list[dict]]:
    """Train one GPT-2 model, recording the in-context loss and the measures of every head's QK and OV."""
    import torch

    from markov_icl.numeric.measures import (
        dip,
        effective_rank,
        gpt2_matrices,
        loss_drop,
        marginal_effective_rank,
        subspace_distance,
    )

    c = config
    model = c.model(c.d, 2, c.n, seed)
    when = set(record_steps(c.steps, c.records))
    Z0 = test.Z0.to(device=c.device)
    y = test.y.to(device=c.device)
    hist: list[tuple[int, float, dict]] = []

    def snapshot(step, m):
        m.eval()
        with torch.no_grad():
            value = float(m.loss(Z0.to(next(m.parameters()).dtype), y))
        m.train()
        hist.append((step, value, gpt2_matrices(m.gpt2)))

    def callback(step, m, _loss):
        if progress is not None:
            progress()
        if step in when:
            snapshot(step + 1, m)   # after the update of this step

    snapshot(0, model)
    c.train(model, (c.n, c.n), 10_000 + seed, callback=callback)
    steps = np.array([h[0] for h in hist], dtype=float)
    loss = np.array([h[1] for h in hist])
    final = hist[-1][2]
    rows, summ = [], []
    base = math.log(2)  # the loss of a rule that ignores the context (uniform kernels, binary chains)
    drop = loss_drop(steps, loss)
    gain_level = base - 0.5 * (base - loss[-1])
    icl = np.flatnonzero(loss <= gain_level)
    t_icl = float(steps[icl[0]]) if len(icl) and loss[-1] < base else float("nan")
    for key in final:
        for mat in MATRICES:
            er = np.array([effective_rank(h[2][key][mat]) for h in hist])
            mer = np.array([marginal_effective_rank(h[2][key][mat], 1) for h in hist])
            sd = np.array([subspace_distance(h[2][key][mat], final[key][mat]) for h in hist])
            for i in range(len(hist)):
                rows.append(_clean({"seed": seed, "step": int(steps[i]), "loss": float(loss[i]), "layer": key[0],
                                    "head": key[1], "matrix": mat, "erank": float(er[i]),
                                    "marginal_erank": float(mer[i]), "stability": float(sd[i])}))
            de, dm = dip(steps, er), dip(steps, mer)
            summ.append(_clean({"seed": seed, "layer": key[0], "head": key[1], "matrix": mat, "loss_start": drop["start"],
                         "loss_end": drop["end"], "t_loss_half": drop["t_half"], "t_loss_90": drop["t_90"],
                         "t_icl_half": t_icl, "erank_start": de["start"], "erank_min": de["min"],
                         "erank_end": de["end"], "t_erank_min": de["t_min"], "t_erank_half": de["t_half"],
                         "t_erank_90": de["t_90"], "t_erank_rise_half": de["t_rise_half"],
                         "t_marginal_half": dm["t_half"], "t_marginal_min": dm["t_min"],
                         "t_stability_settle_0.5": _settle(steps, sd, 0.5),
                         "t_stability_settle_0.1": _settle(steps, sd, 0.1)}))
    return rows, summ


#: measured seconds of one exact LSA calibration flow and of one GPT-2 training step with its recorded measures at
#: the defaults (2-core machine, shared: the default run took 321 s)
LSA_FLOW_SECONDS, GPT2_STEP_SECONDS = 14.0, 0.031


def estimate_seconds(config: EmergenceConfig) -> float:
    """A rough estimate of :func:`run`'s seconds on the CPU (:data:`LSA_FLOW_SECONDS`, :data:`GPT2_STEP_SECONDS`).

    Examples:
        >>> 100 < estimate_seconds(EmergenceConfig()) < 600
        True
    """
    c = config
    return len(c.lsa_ds) * c.lsa_seeds * LSA_FLOW_SECONDS + (c.seeds * c.steps * GPT2_STEP_SECONDS if c.gpt2 else 0.0)


def run(config: EmergenceConfig, progress: bool = True) -> dict:
    """The calibration flows and the GPT-2 runs; returns ``{"lsa", "lsa_summary", "gpt2", "gpt2_summary"}``."""
    from markov_icl.numeric.multistate import sample_multistate
    from markov_icl.progress import Progress
    from markov_icl.symbolic.laws import parse_alpha

    c = config
    total = len(c.lsa_ds) * c.lsa_seeds + (c.seeds * c.steps if c.gpt2 else 0)
    bar = Progress("emergence", total, unit="unit", estimate=estimate_seconds(c), enabled=progress,
                   what=f"{len(c.lsa_ds) * c.lsa_seeds} exact LSA flows, "
                        f"{c.seeds if c.gpt2 else 0} GPT-2 models of {c.steps} steps")
    lsa, lsa_summary = [], []
    for d in c.lsa_ds:
        for seed in range(c.lsa_seeds):
            rows, summ = lsa_calibration(d, c.lsa_p, c.lsa_n, seed, c.lsa_scale, c.lsa_time, c.lsa_points)
            lsa += rows
            lsa_summary.append(summ)
            bar.update(1)
    gpt, gpt_summary = [], []
    if c.gpt2:
        test = sample_multistate(2, c.d, c.n, c.eval, alpha=float(parse_alpha(c.alpha)), seed=3_000_017)
        for seed in range(c.seeds):
            rows, summ = gpt2_run(c, seed, test, progress=lambda: bar.update(1))
            gpt += rows
            gpt_summary += summ
    bar.close()
    return {"lsa": _same_keys(lsa), "lsa_summary": _same_keys(lsa_summary), "gpt2": gpt, "gpt2_summary": gpt_summary}


def _same_keys(rows: list[dict]) -> list[dict]:
    """Every row with the union of the keys (in first-seen order), missing ones None: one CSV header for all d."""
    keys: dict = {}
    for r in rows:
        keys.update(dict.fromkeys(r))
    return [{k: r.get(k) for k in keys} for r in rows]


# ------------------------------------------------------------------------------------------------ reporting
def _mean_std(values) -> tuple[float, float, int]:
    v = np.array([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    if not len(v):
        return float("nan"), float("nan"), 0
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0, len(v)


def aggregate(gpt_summary: list[dict]) -> list[dict]:
    """Over seeds (mean, standard deviation) per layer and matrix, heads pooled: the loss's and the measures' times
    and the lags ``t_measure - t_loss_half``."""
    out = []
    keys = sorted({(r["layer"], r["matrix"]) for r in gpt_summary})
    for layer, mat in keys:
        rs = [r for r in gpt_summary if r["layer"] == layer and r["matrix"] == mat]
        row = {"layer": layer, "matrix": mat, "runs": len(rs)}
        for k in ("t_loss_half", "t_icl_half", "t_erank_half", "t_erank_90", "t_erank_min", "erank_start",
                  "erank_min", "erank_end", "t_stability_settle_0.5", "t_stability_settle_0.1"):
            row[k + "_mean"], row[k + "_std"], _ = _mean_std(r[k] for r in rs)
        for k in ("t_erank_half", "t_erank_90", "t_stability_settle_0.5"):
            for ref, tag in (("t_loss_half", "lag"), ("t_icl_half", "lag_icl")):
                row[f"{tag}_{k}_mean"], row[f"{tag}_{k}_std"], _ = _mean_std(
                    r[k] - r[ref] for r in rs if r[k] is not None and r[ref] is not None)
        out.append(_clean(row))
    return out


def plot(result: dict, config: EmergenceConfig, path: Path) -> Path:
    """Calibration panels (one per LSA d: loss, effective ranks, subspace stability against time, the known stage
    times marked) and GPT-2 panels (loss and QK effective rank per layer against step, mean and std over seeds)."""
    plt = pyplot()
    ds = list(config.lsa_ds)
    ncol = len(ds) + (2 if result["gpt2"] else 0)
    fig, axes = plt.subplots(1, ncol, figsize=(4.6 * ncol, 3.8), squeeze=False)
    axes = axes[0]
    for i, d in enumerate(ds):
        ax = axes[i]
        rows = [r for r in result["lsa"] if r["d"] == d and r["seed"] == 0]
        summ = next(s for s in result["lsa_summary"] if s["d"] == d and s["seed"] == 0)
        t = _arr(rows, "t")
        good = t > 0
        ax2 = ax.twinx()
        ax2.plot(t[good], _arr(rows, "loss")[good], "k-", lw=1.5, label="loss")
        ax2.set_ylabel("population loss")
        for k, style in (("erank_A", "C0-"), ("erank_S", "C1-"), ("marginal_erank_S", "C1:"), ("stability_A", "C2--"),
                         ("stability_S", "C3--")):
            v = _arr(rows, k)
            if np.isfinite(v).any():
                ax.plot(t[good], v[good], style, lw=1, label=k.replace("_", " "))
        for key, ls in (("t_escape_predicted", ":"), ("t_stage2", "-.")):
            if summ[key] is not None:
                ax.axvline(summ[key], color="gray", ls=ls, lw=1)
        ax.set_xscale("log")
        ax.set_xlabel("time t (gradient flow)")
        ax.set_ylabel("effective rank / subspace distance")
        ax.set_title(f"one-layer LSA, d = {d}: escape (dotted), saddle exit (dash-dot)", fontsize=8)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=6, loc="center left")
    if result["gpt2"]:
        g = result["gpt2"]
        steps = sorted({r["step"] for r in g})
        seeds = sorted({r["seed"] for r in g})
        ax = axes[len(ds)]
        L = np.array([[next(r["loss"] for r in g if r["seed"] == s and r["step"] == st and r["layer"] == 0
                            and r["head"] == 0 and r["matrix"] == "QK") for st in steps] for s in seeds])
        x = np.maximum(np.array(steps), 1)
        ax.plot(x, L.mean(0), "k-", label="held-out in-context loss")
        ax.fill_between(x, L.mean(0) - L.std(0), L.mean(0) + L.std(0), color="k", alpha=0.2)
        ax.axhline(math.log(2), color="gray", ls=":", lw=1, label="log 2 (ignores the context)")
        ax.set_xscale("log")
        ax.set_xlabel("training step")
        ax.set_ylabel("cross-entropy")
        ax.set_title(f"GPT-2 {config.layers}x{config.heads}x{config.width}, d = {config.d}, n = {config.n}, "
                     f"{len(seeds)} seeds", fontsize=8)
        ax.legend(fontsize=6)
        ax = axes[len(ds) + 1]
        layers = sorted({r["layer"] for r in g})
        for layer in layers:
            for mat, ls in (("QK", "-"), ("OV", "--")):
                E = np.array([[np.mean([r["erank"] for r in g if r["seed"] == s and r["step"] == st
                                        and r["layer"] == layer and r["matrix"] == mat]) for st in steps]
                              for s in seeds])
                ax.plot(x, E.mean(0), ls, color=f"C{layer}", label=f"layer {layer} {mat} (heads pooled)")
                ax.fill_between(x, E.mean(0) - E.std(0), E.mean(0) + E.std(0), color=f"C{layer}", alpha=0.15)
        th = [r["t_loss_half"] for r in result["gpt2_summary"] if r["t_loss_half"] is not None]
        if th:
            ax.axvline(max(float(np.mean(th)), 1.0), color="k", ls=":", lw=1, label="loss half-drop (mean)")
        ax.set_xscale("log")
        ax.set_xlabel("training step")
        ax.set_ylabel("effective rank")
        ax.set_title("effective rank of QK and OV per layer (mean +- std over seeds)", fontsize=8)
        ax.legend(fontsize=6)
    fig.tight_layout()
    return save_figure(fig, path)


def write(result, config: EmergenceConfig, out: Path, plot_figure: bool = True) -> list[Path]:
    """The four CSVs and ``emergence.png``."""
    tables = {"emergence_lsa.csv": result["lsa"], "emergence_lsa_summary.csv": result["lsa_summary"]}
    if result["gpt2"]:
        tables.update({"emergence_gpt2.csv": result["gpt2"], "emergence_gpt2_summary.csv": result["gpt2_summary"]})
    return write_outputs(out, tables, ("emergence.png", lambda p: plot(result, config, p)) if plot_figure else None)


def summary(result, config: EmergenceConfig, seconds: float) -> str:
    """What ``markov-icl experiment emergence`` prints."""
    c = config
    lines = [f"emergence ({seconds:.0f} s): calibration on exact LSA flows (p = {c.lsa_p}, n = {c.lsa_n}, "
             f"{c.lsa_seeds} initialisations of scale {c.lsa_scale:g}); times mean +- std over initialisations"]
    for d in c.lsa_ds:
        rs = [r for r in result["lsa_summary"] if r["d"] == d]

        def ms(key, rs=rs):
            m, s, k = _mean_std(r.get(key) for r in rs)
            return f"{m:.4g} +- {s:.2g}" if k else "-"

        lines.append(f"  d = {d}: escape predicted {ms('t_escape_predicted')}, flow {ms('t_escape_flow')}; "
                     f"saddle exit {ms('t_stage2')}")
        for k in ("erank_A", "erank_S", "marginal_erank_S"):
            if not any(r.get(k + "_min") is not None for r in rs):
                continue
            lines.append(f"    {k}: {ms(k + '_start')} -> min {ms(k + '_min')} at t = {ms(k + '_t_min')} (minus the "
                         f"escape: {ms(k + '_lag_min')}); fall half done at {ms(k + '_t_half')}, 90% at "
                         f"{ms(k + '_t_90')}; recovers half at {ms(k + '_t_rise_half')} (minus the saddle exit: "
                         f"{ms(k + '_lag_rise')})")
        for k in ("stability_A",) + (("stability_S",) if d > 1 else ()):
            lines.append(f"    {k}: largest {ms(k + '_max')} at t = {ms(k + '_t_max')}; below 0.5 from "
                         f"{ms(k + '_settle_0.5')}, below 0.1 from {ms(k + '_settle_0.1')}")
    if result["gpt2"]:
        agg = aggregate(result["gpt2_summary"])
        lines.append(f"GPT-2 {c.layers}x{c.heads}x{c.width}, d = {c.d}, n = {c.n}, lr {c.lr:g}, {c.steps} steps, "
                     f"{c.seeds} seeds; steps mean +- std over seeds (heads pooled)")
        def pm(r, k, fmt=".1f", sign=""):
            m, sd = r.get(k + "_mean"), r.get(k + "_std")
            return "-" if m is None else f"{m:{sign}{fmt}} +- {sd:{fmt}}"

        r0 = agg[0]
        lines.append(f"  in-context loss: half-drop at step {pm(r0, 't_loss_half')}, half of the gain below log 2 at "
                     f"{pm(r0, 't_icl_half')}")
        for r in agg:
            lines.append(f"  layer {r['layer']} {r['matrix']}: erank {r['erank_start_mean']:.2f} -> min "
                         f"{r['erank_min_mean']:.2f} -> end {r['erank_end_mean']:.2f}; fall half done at "
                         f"{pm(r, 't_erank_half')} (minus the loss's half-drop {pm(r, 'lag_t_erank_half', sign='+')}, "
                         f"minus the half gain {pm(r, 'lag_icl_t_erank_half', sign='+')}), 90% at {pm(r, 't_erank_90')}; "
                         f"stability below 0.5 from {pm(r, 't_stability_settle_0.5', '.0f')}")
    return "\n".join(lines)


CONFIG = EmergenceConfig

__all__ = ["EmergenceConfig", "CONFIG", "run", "write", "plot", "summary", "aggregate", "lsa_calibration", "gpt2_run",
           "record_steps", "MATRICES"]
