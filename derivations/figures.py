"""Report figures (matplotlib, Agg backend), drawn from the exact closed forms.

* ``x_star_vs_p``: X*(p) for several n (Theorem 3.3, d = 1);
* ``f_star_vs_n``: f~*(n) for several p;
* ``loss_along_coordinates``: the loss along each coordinate of X through X*, with the
  minimiser marked (the paper's Fig. 10).

Each figure is a PDF cached on disk (keyed by its inputs, :mod:`markov_icl.derivations.cache`) and
written atomically into the output folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from markov_icl import io
from markov_icl.derivations.render import Figure
from markov_icl.io import figure_bytes, pyplot

N_VALUES = (2, 5, 10, 50)
P_VALUES = (0.2, 0.5, 0.8)


def _save(fig) -> bytes:
    return figure_bytes(fig, "pdf", metadata={"CreationDate": None})


def x_star_vs_p(n_values=N_VALUES) -> bytes:
    """PDF bytes: the three coordinates of X*(p, n) against p, one curve per n (d = 1)."""
    from markov_icl.derivations.formulas import exact_d1, x_star

    plt = pyplot()
    ps = np.linspace(0.02, 0.98, 200)
    fn = x_star("numpy")
    idx = exact_d1()["index"]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    for k, ax in enumerate(axes):
        for nv in n_values:
            ax.plot(ps, fn(ps, float(nv))[:, k], label=f"n = {nv}")
        j, u, v = idx[k]
        ax.set_title(f"$X^*_{k + 1}$  [j,u,v] = [{j},{u},{v}]")
        ax.set_xlabel("p")
        ax.set_ylabel(f"$X^*_{{{k + 1}}}$")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return _save(fig)


def f_star_vs_n(p_values=P_VALUES) -> bytes:
    """PDF bytes: f~*(p, n) against n (log scale), one curve per p (d = 1 and d = 2)."""
    from markov_icl.derivations.formulas import f_tilde_star
    from markov_icl.symbolic.export import functions

    plt = pyplot()
    ns = np.unique(np.round(np.logspace(0, 3, 60)))
    f1 = f_tilde_star("numpy")
    f2 = functions(2, "numpy").f_tilde_star
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=False)
    for pv in p_values:
        axes[0].plot(ns, f1(pv, ns), label=f"p = {pv}")
        axes[1].plot(ns, f2(pv, ns), label=f"p = {pv}")
    for ax, d in zip(axes, (1, 2)):
        ax.set_xscale("log")
        ax.set_xlabel("n")
        ax.set_ylabel(r"$\tilde f^*$")
        ax.set_title(f"$\\tilde f^*(n)$, d = {d}")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return _save(fig)


def loss_along_coordinates(p: float = 0.5, n: float = 10.0, d: int = 1) -> bytes:
    """PDF bytes: f~(X) along each coordinate X_k through X*, minimiser marked (paper's Fig. 10)."""
    from markov_icl.symbolic.export import functions
    from markov_icl.symbolic.objective import f_tilde

    plt = pyplot()
    fns = functions(d, "numpy")
    xs = np.asarray(fns.X_star(p, n), dtype=float)
    fstar = float(fns.f_tilde_star(p, n))
    Hm, bv, ey2 = fns.H(p, n), fns.beta(p, n), float(fns.E_y2(p, n))
    k_count = len(xs)
    cols = min(k_count, 3)
    rows = -(-k_count // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.8 * rows), squeeze=False)
    for k in range(k_count):
        ax = axes[k // cols][k % cols]
        width = max(1.0, 2 * abs(xs[k]))
        t = np.linspace(xs[k] - width, xs[k] + width, 201)
        X = np.repeat(xs[None, :], len(t), 0)
        X[:, k] = t  # X* moved along coordinate k
        ax.plot(t, f_tilde(X, Hm, bv, ey2))
        ax.plot([xs[k]], [fstar], "o", color="C3")
        ax.axvline(xs[k], color="C3", lw=0.8, ls="--")
        j, u, v = fns.index[k]
        ax.set_title(f"$X_{{{k + 1}}}$ [j,u,v] = [{j},{u},{v}]", fontsize=9)
        ax.set_xlabel(f"$X_{{{k + 1}}}$")
        ax.set_ylabel(r"$\tilde f(X)$")
        ax.grid(alpha=0.3)
    for k in range(k_count, rows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.suptitle(f"loss along each coordinate through $X^*$ (d = {d}, p = {p}, n = {n:g}); "
                 f"dot: minimiser, $\\tilde f^* = {fstar:.4f}$", fontsize=10)
    fig.tight_layout()
    return _save(fig)


def report_figures(out: Path, p: float = 0.5, n: float = 10.0) -> list[Figure]:
    """Draw (or take from the cache) every report figure into ``out/figures``; returns captions and paths."""
    specs = [
        ("x_star_vs_p", lambda: x_star_vs_p(), {},
         "Theorem 3.3: the coordinates of $X^*(p)$ for n = " + ", ".join(map(str, N_VALUES)) + " (d = 1)."),
        ("f_star_vs_n", lambda: f_star_vs_n(), {},
         "The optimal loss $\\tilde f^*(n)$ for p = " + ", ".join(map(str, P_VALUES)) + " (d = 1 and d = 2)."),
        ("loss_along_d1", lambda: loss_along_coordinates(p, n, 1), {"p": p, "n": n, "d": 1},
         f"The loss along each coordinate of X through $X^*$ (d = 1, p = {p}, n = {n:g}); the minimiser is marked "
         "(the paper's Fig. 10)."),
        ("loss_along_d2", lambda: loss_along_coordinates(p, n, 2), {"p": p, "n": n, "d": 2},
         f"The same for d = 2 (12 coordinates, p = {p}, n = {n:g})."),
    ]
    out = Path(out)
    figs = []
    for name, make, inputs, caption in specs:
        data = io.cached(f"figure-{name}", make, fmt="bytes", **inputs)
        path = out / "figures" / f"{name}.pdf"
        io.atomic_write_bytes(path, data)
        figs.append(Figure(f"figures/{name}.pdf", caption))
    return figs


__all__ = ["x_star_vs_p", "f_star_vs_n", "loss_along_coordinates", "report_figures"]
