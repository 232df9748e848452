"""The gap f* - f~* between the best one-layer LSA and the enlarged-space optimum as n grows, and its limit.

For every initial-state probability p of ``ps`` and every number of context chains n of ``ns`` (uniform
kernel prior, i.i.d. Bernoulli(p) initial states): the exact ``f~*(n)``, the exact decision whether ``X*(n)`` is
realisable (then ``f* = f~*`` exactly) and otherwise the best one-layer loss ``f*(n)`` by the variable projection
(:func:`~markov_icl.symbolic.varpro.best_one_layer`, a certified multistart search); and, per p, the limits as
``n -> oo`` (:func:`~markov_icl.symbolic.large_n.large_n_limit`: ``H(n) = H_inf + H_1 / n``, the exact
``f~*_inf`` and its rate ``c~``, whether ``X*_inf`` is realisable, ``f*_inf`` by the variable projection at
``n = oo`` with an exact upper bound). At d = 1, ``X*`` is realisable from n = 13 on and the gap is exactly 0; at
d = 2 it is not realisable even at ``n = oo``, so the gap tends to ``f*_inf - f~*_inf > 0``.

Outputs (atomic writes): ``gap.csv`` (one row per (p, n)), ``gap_limits.csv`` (one row per p, n = oo) and
``gap.png`` (the gap against n on log axes with the limits; the distance of f~*(n) and f*(n) to their limits
against ``c / n``).

Examples:
    >>> result = run(GapConfig(ps="1/2", ns=(2, 100), starts=8))
    >>> [r["n"] for r in result["rows"]], result["limits"][0]["f_tilde_star"]
    ([2, 100], '1514/6579')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from markov_icl.errors import MarkovICLError
from markov_icl.experiments.config import Config, comma_list, option, write_outputs
from markov_icl.io import pyplot, save_figure
from markov_icl.limits import MAX_STARTS

#: the largest d: from d = 3 on the n -> oo limit H_inf is singular (X*_inf is not unique)
MAX_GAP_D = 2

#: the largest n (the exact solve is in rationals; the gap has reached its limit to 1e-9 long before)
MAX_GAP_N = 10**9


def parse_ps(text: str) -> list:
    """Exact probabilities from a comma-separated list (``"1/4,1/2,3/4"``).

    Examples:
        >>> [str(p) for p in parse_ps("1/4, 1/2")]
        ['1/4', '1/2']
    """
    from markov_icl.symbolic.laws import parse_probability

    return comma_list(text, "--ps", lambda t: parse_probability(t, "--ps"),
                      "exact probabilities such as 1/4,1/2,3/4")


@dataclass(frozen=True)
class GapConfig(Config):
    """Options of ``markov-icl experiment gap``."""

    d: int = option(2, "chain input length", "int>=1", at_most=MAX_GAP_D, why="H_inf is singular from d = 3 on")
    ps: str = option("1/4,1/2,3/4", "initial-state probabilities, exact, comma-separated", "text")
    ns: tuple = option((2, 3, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10**4, 10**5, 10**6),
                       "numbers of context chains", "ints>=1", at_most=MAX_GAP_N, why="the gap has converged")
    starts: int | None = option(None, "start directions of each f* search (default 64 at d = 2)", "int>=1?",
                                at_most=MAX_STARTS, why="each start is a BFGS run")
    seed: int = option(0, "seed of the start directions", "seed")

    def __post_init__(self) -> None:
        super().__post_init__()
        parse_ps(self.ps)
        if len(set(self.ns)) != len(self.ns):
            raise MarkovICLError(f"--ns lists a value twice: {' '.join(map(str, self.ns))}")

    @property
    def p_values(self) -> list:
        return parse_ps(self.ps)


#: measured seconds of the default run (2-core machine, shared)
DEFAULT_SECONDS = 30.0


def estimate_seconds(config: GapConfig) -> float:
    """A rough estimate of :func:`run`'s seconds: the default run's 30 s (2-core machine, shared), scaled by the
    number of (p, n) points and limits.

    Examples:
        >>> 10 < estimate_seconds(GapConfig()) < 120
        True
    """
    default = GapConfig()
    steps = len(config.p_values) * (len(config.ns) + 1)
    return DEFAULT_SECONDS * steps / (len(default.p_values) * (len(default.ns) + 1))


def run(config: GapConfig, progress: bool = True) -> dict:
    """``{"rows": [...] one per (p, n), "limits": [...] one per p}``."""
    from markov_icl.progress import Progress
    from markov_icl.symbolic.large_n import large_n_limit
    from markov_icl.symbolic.realizability import realize
    from markov_icl.symbolic.solve import solve
    from markov_icl.symbolic.varpro import best_one_layer

    c = config
    ns = sorted(c.ns)
    rows, limits = [], []
    bar = Progress("gap", len(c.p_values) * (len(ns) + 1), unit="point", estimate=estimate_seconds(c), enabled=progress,
                   what=f"{len(c.p_values)} limits and {len(c.p_values) * len(ns)} exact f~*, f* at d = {c.d}")
    for p in c.p_values:
        lim = large_n_limit(c.d, p, starts=c.starts, seed=c.seed)
        bar.update(1)
        limits.append({"d": c.d, "p": str(p), **{k: v for k, v in lim.to_dict().items()
                                                 if k not in ("d", "p", "X_star", "b", "certificate")}})
        for n in ns:
            sol = solve(c.d, p, n)
            ft = sol.f_tilde_star
            realizable = bool(realize(list(sol.X_star), c.d).realizable)
            fs = float(ft) if realizable else best_one_layer(sol, starts=c.starts, seed=c.seed).f_star
            rows.append({"d": c.d, "p": str(p), "n": n, "f_tilde_star": str(ft), "f_tilde_star_float": float(ft),
                         "realizable": realizable, "f_star": fs, "gap": fs - float(ft),
                         "f_tilde_minus_limit": float(ft - lim.f_tilde_star), "f_star_minus_limit": fs - lim.f_star})
            bar.update(1)
    bar.close()
    return {"rows": rows, "limits": limits}


def plot(result, config: GapConfig, path: Path) -> Path:
    """Left: the gap against n (log axes) with its limits; right: the distance to the limits against c / n."""
    plt = pyplot()
    rows, limits = result["rows"], result["limits"]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for k, lim in enumerate(limits):
        color = f"C{k}"
        rs = [r for r in rows if r["p"] == lim["p"]]
        n = np.array([r["n"] for r in rs], float)
        gap = np.array([r["gap"] for r in rs])
        pos = gap > 0
        ax.loglog(n[pos], gap[pos], "o-", color=color, ms=4, label=f"$p = {lim['p']}$")
        if lim["gap"] > 0:
            ax.axhline(lim["gap"], color=color, ls="--", lw=0.9,
                       label=rf"$n \to \infty$: $f^*_\infty - \tilde f^*_\infty = {lim['gap']:.3e}$")
        zero = n[~pos]
        if len(zero):
            ax.plot([], [], " ", label=f"$p = {lim['p']}$: gap exactly 0 ($X^*$ realisable) at {len(zero)} values of n")
        ax2.loglog(n, [r["f_tilde_minus_limit"] for r in rs], "o-", color=color, ms=3,
                   label=rf"$\tilde f^*(n) - \tilde f^*_\infty$, $p = {lim['p']}$")
        fsl = np.array([r["f_star_minus_limit"] for r in rs])
        ax2.loglog(n[fsl > 0], fsl[fsl > 0], "s:", color=color, ms=3, mfc="none",
                   label=rf"$f^*(n) - f^*_\infty$, $p = {lim['p']}$")
        ax2.loglog(n, lim["f_tilde_rate_float"] / n, "-", color=color, lw=0.5, alpha=0.6)
    ax.set_xlabel("context chains $n$")
    ax.set_ylabel(r"gap $f^*(n) - \tilde f^*(n)$")
    ax.set_title(f"best one-layer LSA minus the enlarged-space optimum: $d = {config.d}$, uniform kernel prior, "
                 "i.i.d. Bernoulli($p$) starts", fontsize=8)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    ax2.set_xlabel("context chains $n$")
    ax2.set_ylabel("distance to the $n \\to \\infty$ limit")
    ax2.set_title(r"both converge at the rate $c/n$ (thin lines: the exact $\tilde c / n$)", fontsize=9)
    ax2.legend(fontsize=6)
    ax2.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return save_figure(fig, path)


def write(result, config: GapConfig, out: Path, plot_figure: bool = True) -> list[Path]:
    """``gap.csv``, ``gap_limits.csv``, ``gap.png``."""
    return write_outputs(out, {"gap.csv": result["rows"], "gap_limits.csv": result["limits"]},
                         ("gap.png", lambda path: plot(result, config, path)) if plot_figure else None)


def summary(result, config: GapConfig, seconds: float) -> str:
    """What ``markov-icl experiment gap`` prints: the gap per n and p, then the limits."""
    rows, limits = result["rows"], result["limits"]
    ps = [lim["p"] for lim in limits]
    ns = sorted({r["n"] for r in rows})
    by = {(r["p"], r["n"]): r for r in rows}
    lines = [f"gap: f* - f~* at d = {config.d}, uniform kernel prior, i.i.d. starts; {len(rows)} points, "
             f"{seconds:.0f} s",
             "        n  " + "".join(f"{'p = ' + p:>13}" for p in ps)]
    for n in ns:
        cells = ["0 (X* real.)" if by[(p, n)]["realizable"] else f"{by[(p, n)]['gap']:.4e}" for p in ps]
        lines.append(f"  {n:>7}  " + "".join(f"{c:>13}" for c in cells))
    lines.append("  n -> oo: f~*_inf exact, f*_inf by variable projection at n = oo; f~*(n) = f~*_inf + c~/n + ...")
    for lim in limits:
        lines.append(f"  p = {lim['p']}: f~*_inf = {lim['f_tilde_star']} = {lim['f_tilde_star_float']:.10f}, "
                     f"f*_inf = {lim['f_star']:.10f}, gap {lim['gap']:.4e} "
                     f"(X*_inf {'realisable' if lim['realizable'] else 'not realisable'}, exact); "
                     f"c~ = {lim['f_tilde_rate_float']:.6f}, c* = {lim['f_star_rate']:.6f}")
    return "\n".join(lines)


CONFIG = GapConfig

__all__ = ["GapConfig", "CONFIG", "run", "write", "plot", "summary", "parse_ps", "MAX_GAP_D"]
