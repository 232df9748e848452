"""The realisability atlas: a ``realize`` sweep over (d, p, n) as a table and a figure.

From ``DIR/results.csv`` of a sweep with ``kind = "realize"`` and grid keys ``d``, ``p``, ``n``
(:mod:`markov_icl.experiments.sweep`): ``DIR/atlas.csv`` (one row per finished cell: ``d``, ``p``,
``n``, ``realizable``, ``f_tilde_star``, ``f_star``, ``gap = f* - f~*``) and ``DIR/atlas.png`` (one
panel per d: the (p, n) grid, n on a log axis, realisable points as open circles, the others
squares coloured by ``log10(gap)``; the legend below the panels, off the data), both written
atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from markov_icl.errors import MarkovICLError
from markov_icl.io import pyplot, save_figure, write_records


def atlas_rows(out: Path) -> list[dict]:
    """The atlas table of a realize sweep folder."""
    from fractions import Fraction

    from markov_icl.experiments.sweep import _stored_spec, state, values_of

    spec = _stored_spec(Path(out))
    if spec.kind != "realize":
        raise MarkovICLError(f"the atlas needs a sweep of kind realize, got {spec.kind}")
    rows = []
    for r in state(spec, out).values():
        if r["status"] != "ok":
            continue
        v = values_of(out, r)
        rows.append({"d": int(v["d"]), "p": v["p"], "p_float": float(Fraction(v["p"])), "n": int(v["n"]),
                     "realizable": bool(v["realizable"]), "f_tilde_star": v["f_tilde_star_float"],
                     "f_star": v["f_star"], "gap": v["gap"]})
    rows.sort(key=lambda r: (r["d"], r["p_float"], r["n"]))
    return rows


def write_atlas(out: Path) -> list[Path]:
    """``atlas.csv`` and ``atlas.png`` in the sweep folder (nothing when no cell has finished)."""
    out = Path(out)
    rows = atlas_rows(out)
    if not rows:
        return []
    written = [write_records(out / "atlas.csv", rows, float_format="")]
    plt = pyplot()
    ds = sorted({r["d"] for r in rows})
    fig, axes = plt.subplots(1, len(ds), figsize=(4.2 * len(ds) + 0.8, 4.6), squeeze=False)
    gaps = [r["gap"] for r in rows if not r["realizable"] and r["gap"] > 0]
    lo, hi = (np.log10(min(gaps)), np.log10(max(gaps))) if gaps else (-12, -1)
    sc = None
    for ax, d in zip(axes[0], ds):
        rs = [r for r in rows if r["d"] == d]
        yes = [r for r in rs if r["realizable"]]
        no = [r for r in rs if not r["realizable"]]
        if no:
            sc = ax.scatter([r["p_float"] for r in no], [r["n"] for r in no],
                            c=[np.log10(max(r["gap"], 1e-300)) for r in no], cmap="viridis", vmin=lo, vmax=hi, s=28,
                            marker="s", label=r"not realisable (colour: $\log_{10}(f^* - \tilde f^*)$)")
        if yes:
            ax.scatter([r["p_float"] for r in yes], [r["n"] for r in yes], facecolors="none", edgecolors="C3", s=36,
                       label=r"$X^*$ realisable ($f^* = \tilde f^*$)")
        ax.set_xlabel("initial-state probability $p$")
        ax.set_ylabel("context chains $n$ (log scale)")
        ax.set_yscale("log")
        ns = sorted({r["n"] for r in rs})
        ax.set_yticks(ns, [str(v) for v in ns], fontsize=7)
        ax.minorticks_off()
        ax.set_title(f"$d = {d}$: {len(yes)} of {len(rs)} points realisable", fontsize=9)
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    for ax in axes[0][1:]:  # a kind of point missing from the first panel still gets its legend entry
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, frameon=False, bbox_to_anchor=(0.47, 0.0))
    fig.suptitle("Realisability atlas: is the enlarged-space optimum $X^*$ a one-layer LSA? Binary chains, uniform "
                 "kernel prior, i.i.d. Bernoulli($p$) initial states", fontsize=10, y=0.995)
    fig.subplots_adjust(top=0.84, bottom=0.2, left=0.05, right=0.9, wspace=0.25)
    if sc is not None:
        cax = fig.add_axes((0.915, 0.2, 0.012, 0.64))
        fig.colorbar(sc, cax=cax).set_label(r"$\log_{10}(f^* - \tilde f^*)$")
    written.append(save_figure(fig, out / "atlas.png"))
    return written


__all__ = ["atlas_rows", "write_atlas"]
