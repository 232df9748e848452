"""Where the gradient flow of a one-layer LSA ends: the fraction of initialisations in each basin, by scale.

At a numeric ``(d, p, n)`` the landscape of the sparse (or dense) one-layer LSA has the local minima that
:func:`~markov_icl.symbolic.dynamics.reduced_critical_points` finds through the variable projection
(``m_0 = f* < m_1 < ...``; at d = 2, p = 1/2, n = 10 two of them, 5.1e-4 apart). For every initialisation scale
``s`` of ``scales`` and every seed ``i`` in ``seed .. seed + starts - 1`` the start is
``theta_0 = default_rng(i).normal(0, s, k)``, the initialisation of ``markov-icl dynamics --seed i --init-scale s``,
and the exact gradient flow ``theta' = -grad f`` is integrated (:func:`~markov_icl.numeric.dynamics.integrate_flow`,
DOP853, ``rtol``; the starts of one scale together, as one system) over horizons that double from 50 until every
start has settled or ``time`` is reached. A start has settled

* at ``f*`` as soon as its loss is below ``c_1 - LOSS_TOL``, ``c_1`` the least critical value above ``f*``: the
  loss never increases along the flow, and a bounded trajectory of the gradient flow of a polynomial converges to
  a single critical point (Lojasiewicz), whose value is then below ``c_1``, so it is ``f*``;
* at ``m_i`` when its loss is within :data:`NEAR_LOSS` of ``m_i`` and ``phi(theta)`` within :data:`NEAR_X` of
  ``phi`` at ``m_i`` (``phi`` is constant on the minimum's rescaling orbit): inside the minimum's basin, where a
  sublevel set around it traps the flow.

Outputs (atomic writes): ``basins.csv`` (one row per start: scale, seed, the minimum reached, when, by which rule,
the invariant ``||b||^2 - ||A||_F^2`` of the start) and ``basins.png`` (the fraction of starts at each minimum
against the scale, with 95% Clopper-Pearson intervals).

Examples:
    >>> result = run(BasinsConfig(d=1, p="1/2", n=5, scales="0.5", starts=2, time=400))
    >>> [(r["seed"], r["minimum"], r["rule"]) for r in result["rows"]]
    [(0, 0, 'below c_1'), (1, 0, 'below c_1')]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from markov_icl.errors import MarkovICLError
from markov_icl.experiments.config import Config, comma_list, option, write_outputs
from markov_icl.experiments.dynamics import MAX_DYNAMICS_D
from markov_icl.io import pyplot, save_figure

#: a start is at f* when its loss is below c_1 - LOSS_TOL, at the minimum m_i when its loss is within NEAR_LOSS of
#: m_i and phi(theta) within NEAR_X of phi there
LOSS_TOL = 1e-9
NEAR_LOSS = 1e-7
NEAR_X = 1e-3
#: the first horizon; later ones double
FIRST_HORIZON = 50.0


def parse_scales(text: str) -> list[float]:
    """Initialisation scales from a comma-separated list (``"0.001,0.1,1"``).

    Examples:
        >>> parse_scales("1e-3, 0.5")
        [0.001, 0.5]
    """
    def scale(t: str) -> float:
        v = float(t)
        if not (math.isfinite(v) and 0 < v <= 1e3):
            raise ValueError(t)
        return v

    return comma_list(text, "--scales", scale, "numbers in (0, 1000] such as 0.001,0.1,1")


@dataclass(frozen=True)
class BasinsConfig(Config):
    """Options of ``markov-icl experiment basins``."""

    d: int = option(2, "chain input length", "int>=1", at_most=MAX_DYNAMICS_D, why="the exact polynomial loss")
    p: str = option("1/2", "initial-state probability, exact", "p")
    n: int = option(10, "context chains", "int>=1")
    param: str = option("sparse", "bilinear parameterization: sparse or dense", "choice", ("sparse", "dense"))
    scales: str = option("0.001,0.01,0.1,0.2,0.5,1", "initialisation scales (std of theta_0), comma-separated", "text")
    starts: int = option(300, "initialisations per scale (seeds seed .. seed + starts - 1)", "int>=1",
                         at_most=10_000, why="one command")
    seed: int = option(0, "the first seed", "seed")
    time: float = option(1e5, "the longest flow time; starts not settled by then are counted as unsettled",
                         "float>0", at_most=1e7, why="one command")
    rtol: float = option(1e-9, "relative tolerance of the ODE solver", "float>0", at_most=1e-4,
                         why="the basins are decided on the integrated flow")

    def __post_init__(self) -> None:
        super().__post_init__()
        parse_scales(self.scales)
        if self.seed + self.starts - 1 > 2**63 - 1:
            raise MarkovICLError("--seed + --starts - 1 must be at most 2^63 - 1")

    @property
    def scale_values(self) -> list[float]:
        return parse_scales(self.scales)


def _landscape(loss):
    """The minima (loss, phi) by loss, and ``c_1``, the least critical value above ``f*``."""
    from markov_icl.symbolic.dynamics import reduced_critical_points

    cps = reduced_critical_points(loss)
    minima = [c for c in cps if c.index == 0]
    if not minima:
        raise MarkovICLError("the variable projection found no local minimum")
    f0 = minima[0].loss
    above = [c.loss for c in cps if c.loss > f0 + 1e-12]
    return minima, (min(above) if above else math.inf), cps


#: measured seconds per start of the default run (300 starts x 6 scales in 480 s; 2-core machine, shared)
SECONDS_PER_START = 480.0 / 1800


def estimate_seconds(config: BasinsConfig) -> float:
    """A rough estimate of :func:`run`'s seconds: :data:`SECONDS_PER_START` times the number of starts.

    Examples:
        >>> round(estimate_seconds(BasinsConfig()))
        480
    """
    return SECONDS_PER_START * config.starts * len(config.scale_values)


def run(config: BasinsConfig, progress: bool = True) -> dict:
    """``{"rows": [...] one per start, "minima": [...], "c_1": float, "theta_end": (starts x scales, k) array
    (where each flow was stopped, in the order of the rows), "critical_points": [...]}``."""
    from markov_icl.numeric.dynamics import integrate_flow
    from markov_icl.progress import Progress
    from markov_icl.symbolic.dynamics import PopulationLoss
    from markov_icl.symbolic.model import phi
    from markov_icl.symbolic.param import preset
    from markov_icl.symbolic.solve import solve

    c = config
    L = PopulationLoss(preset(c.param, c.d), solve(c.d, c.p, c.n))
    loss_fn, grad_fn = L.lambdify("numpy")
    k = len(L.symbols)
    minima, c1, cps = _landscape(L)

    def phis(th):
        b, A = L.bilinear_parts(th)
        return np.array([phi(bi, Ai) for bi, Ai in zip(b, A)])

    X_min = phis(np.array([m.theta for m in minima]))
    rows, ends = [], []
    scales = c.scale_values
    bar = Progress("basins", len(scales) * c.starts, unit="start", estimate=estimate_seconds(c), enabled=progress,
                   what=f"{c.starts} gradient flows at each of {len(scales)} scales (d = {c.d})")
    for s in scales:
        seeds = list(range(c.seed, c.seed + c.starts))
        th = np.array([np.random.default_rng(i).normal(0.0, s, k) for i in seeds])
        b0, A0 = L.bilinear_parts(th)
        q0 = (b0 ** 2).sum(-1) - (A0 ** 2).sum((-2, -1))
        label, rule, when = [None] * len(seeds), [""] * len(seeds), [None] * len(seeds)
        t, T = 0.0, min(FIRST_HORIZON, c.time)
        while True:
            active = [i for i, v in enumerate(label) if v is None]
            if not active:
                break
            B = len(active)
            _, y = integrate_flow(lambda v, B=B: grad_fn(v.reshape(B, k)).reshape(-1), th[active].reshape(-1), T - t,
                                  [T - t], rtol=c.rtol, atol=c.rtol * 1e-3 * min(s, 1.0))
            th[active] = y[-1].reshape(B, k)
            f = np.atleast_1d(loss_fn(th[active]))
            X = phis(th[active])
            for j, i in enumerate(active):
                if f[j] < c1 - LOSS_TOL:
                    label[i], rule[i], when[i] = 0, "below c_1", T
                    continue
                for r, m in enumerate(minima):
                    if abs(f[j] - m.loss) < NEAR_LOSS and np.linalg.norm(X[j] - X_min[r]) < NEAR_X:
                        label[i], rule[i], when[i] = r, "near m_i", T
                        break
            bar.update(sum(1 for i in active if label[i] is not None))
            if T >= c.time:
                break
            t, T = T, min(2 * T, c.time)
        f_end = np.atleast_1d(loss_fn(th))
        ends.append(th)
        for j, i in enumerate(seeds):
            rows.append({"scale": s, "seed": i, "minimum": label[j],
                         "minimum_loss": None if label[j] is None else minima[label[j]].loss,
                         "rule": rule[j] or "unsettled", "t_settled": when[j], "loss_end": float(f_end[j]),
                         "invariant_0": float(q0[j])})
    bar.close()
    return {"rows": rows, "minima": [m.loss for m in minima], "c_1": None if math.isinf(c1) else c1,
            "theta_end": np.concatenate(ends), "critical_points": [{"loss": q.loss, "index": q.index} for q in cps]}


def fractions(result, config: BasinsConfig) -> list[dict]:
    """Per scale: the count and fraction of starts at each minimum, with 95% Clopper-Pearson intervals, and the
    unsettled count."""
    from scipy.stats import binomtest

    out = []
    for s in config.scale_values:
        rs = [r for r in result["rows"] if r["scale"] == s]
        row = {"scale": s, "starts": len(rs), "unsettled": sum(r["minimum"] is None for r in rs)}
        for i in range(len(result["minima"])):
            k = sum(r["minimum"] == i for r in rs)
            ci = binomtest(k, len(rs)).proportion_ci(0.95, method="exact")
            row.update({f"at_{i}": k, f"fraction_{i}": k / len(rs), f"low_{i}": float(ci.low),
                        f"high_{i}": float(ci.high)})
        out.append(row)
    return out


def plot(result, config: BasinsConfig, path: Path) -> Path:
    """The fraction of starts at each local minimum against the initialisation scale (log axis), with 95%
    Clopper-Pearson intervals."""
    plt = pyplot()
    c = config
    fr = fractions(result, c)
    x = np.array([r["scale"] for r in fr])
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, m in enumerate(result["minima"]):
        y = np.array([r[f"fraction_{i}"] for r in fr])
        err = np.array([y - [r[f"low_{i}"] for r in fr], [r[f"high_{i}"] for r in fr] - y])
        name = f"$f^* = {m:.6f}$" if i == 0 else f"local minimum ${m:.6f}$ ($+{m - result['minima'][0]:.1e}$)"
        ax.errorbar(x * (1 + 0.04 * i), y, yerr=err, fmt="o-", capsize=3, ms=4, label=name)
    uns = np.array([r["unsettled"] / r["starts"] for r in fr])
    if uns.any():
        ax.plot(x, uns, "x:", color="grey", label=f"not settled by $t = {c.time:g}$")
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(r"initialisation scale $s$ ($\theta_0 \sim N(0, s^2 I)$)")
    ax.set_ylabel("fraction of starts where the gradient flow ends")
    ax.set_title(f"{c.param} one-layer LSA, $d = {c.d}$, $p = {c.p}$, $n = {c.n}$: {c.starts} seeded starts per scale",
                 fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return save_figure(fig, path)


def write(result, config: BasinsConfig, out: Path, plot_figure: bool = True) -> list[Path]:
    """``basins.csv`` and ``basins.png``."""
    return write_outputs(out, {"basins.csv": result["rows"]},
                         ("basins.png", lambda path: plot(result, config, path)) if plot_figure else None)


def summary(result, config: BasinsConfig, seconds: float) -> str:
    """What ``markov-icl experiment basins`` prints."""
    c = config
    minima = result["minima"]
    fr = fractions(result, c)
    head = (f"basins: {c.param} at d = {c.d}, p = {c.p}, n = {c.n}; local minima "
            + ", ".join(f"{m:.6f}" + (" (f*)" if i == 0 else "") for i, m in enumerate(minima))
            + f"; {c.starts} starts per scale (seeds {c.seed}-{c.seed + c.starts - 1}), flow up to t = {c.time:g}, "
            f"{seconds:.0f} s")
    cols = "".join(f"{'at ' + format(m, '.6f'):>16}" for m in minima)
    lines = [head, f"  {'scale':>7}{cols}{'unsettled':>11}   fraction at f* (95% CI)"]
    for r in fr:
        counts = "".join(f"{r[f'at_{i}']:>16}" for i in range(len(minima)))
        lines.append(f"  {r['scale']:>7g}{counts}{r['unsettled']:>11}   {r['fraction_0']:.2f} "
                     f"[{r['low_0']:.2f}, {r['high_0']:.2f}]")
    c1 = "none (f* is the only critical point found)" if result["c_1"] is None else f"{result['c_1']:.6f}"
    lines.append(f"  settled at f* when the loss is below c_1 - {LOSS_TOL:g}, c_1 = {c1} the least critical value above "
                 f"f*; at a minimum m when within {NEAR_LOSS:g} of it and phi within {NEAR_X:g}")
    return "\n".join(lines)


CONFIG = BasinsConfig

__all__ = ["BasinsConfig", "CONFIG", "run", "fractions", "write", "plot", "summary", "parse_scales", "LOSS_TOL",
           "NEAR_LOSS", "NEAR_X"]
