"""Cross-check a trained one-layer LSA against the derived optimum (what ``markov-icl verify`` reports).

:func:`verify` trains a one-layer LSA (theory §2) on fresh prompts and compares it with the
exact objective of :func:`markov_icl.symbolic.solve.solve`:

* ``trained_loss_exact``: the trained model's population loss computed from the derived
  objective, ``f~(phi(b, A))`` (theory §3);
* ``trained_loss_mc`` and its standard error: an independent Monte Carlo estimate of
  ``E[(yhat - y_q)^2]`` on fresh prompts;
* ``f_tilde_star``, ``X_star``: the exact optimum (strings, with ``_float`` twins);
* ``phi_trained`` and ``phi_distance = ||phi(b, A) - X*||_2``.

At a realisable point (theory §6) the trained loss reaches ``f~*`` and ``phi`` reaches ``X*``
(``phi`` is invariant under ``b -> t b, A -> A / t``); where X* is not realisable the gap
stays positive, and ``with_f_star`` adds the best one-layer loss f*.
"""

from __future__ import annotations

import time

import numpy as np

from markov_icl import limits
from markov_icl.errors import MarkovICLError, check_finite, check_int, check_positive_float
from markov_icl.numeric.lsa import DenseLSA, SparseLSA, one_layer_params
from markov_icl.numeric.montecarlo import estimate_loss
from markov_icl.numeric.prompts import check_sampleable
from markov_icl.numeric.train import OPTIMIZERS, train
from markov_icl.symbolic.laws import ChainLaw
from markov_icl.symbolic.model import phi
from markov_icl.symbolic.objective import check_d, parse_n
from markov_icl.symbolic.solve import solve

#: defaults that reach f~* within 1e-6 at d = 1, p = 1/2, n = 10 in a few seconds
DEFAULTS = dict(steps=1500, batch=1024, lr=0.05, optimizer="adam", schedule="cosine", init_scale=0.5,
                mc_samples=200_000, model="dense")

MODELS = ("dense", "sparse")


def verify(d: int, p, n, *, steps: int = DEFAULTS["steps"], seed: int = 0, batch: int = DEFAULTS["batch"],
           lr: float = DEFAULTS["lr"], optimizer: str = DEFAULTS["optimizer"], schedule: str = DEFAULTS["schedule"],
           init_scale: float = DEFAULTS["init_scale"], mc_samples: int = DEFAULTS["mc_samples"],
           model: str = DEFAULTS["model"], kernel: str = "uniform", init: str = "iid", progress: bool = True,
           with_f_star: bool = False, max_d: int | None = None) -> dict:
    """Train a one-layer LSA at ``(d, p, n)`` and compare it with the exact optimum (a JSON-ready dict).

    Args:
        d, p, n: the point (p exact in (0, 1), n an integer >= 1).
        steps, batch, lr, optimizer, schedule, init_scale, seed: the training run.
        mc_samples: prompts of the Monte Carlo loss estimate.
        model: ``"dense"`` (P, Q) or ``"sparse"`` ((b, A)).
        kernel, init: the chain law (sampleable laws only: not ``correlated``).
        with_f_star: also report ``f_star``, the best one-layer loss (theory §6).
        max_d: raise the limit on d (:data:`markov_icl.limits.DEFAULT_MAX_D`).

    Returns:
        A dict with the keys of the module docstring plus ``d, p, n, kernel, init, index, gap,
        final_train_loss, seconds, config``.

    Raises:
        MarkovICLError: bad input, before any training (the sizes: :mod:`markov_icl.limits`).
        Diverged: the training loss or the trained model is not finite.

    Examples:
        >>> res = verify(1, "1/2", 10, steps=300, batch=256, mc_samples=2000, progress=False)
        >>> res["f_tilde_star"], res["gap"] < 1e-3
        ('121/342', True)
    """
    check_d(d)
    limits.check_d("verify", d, max_d)
    if p is None:
        raise MarkovICLError("verify needs a numeric p, e.g. 1/2")
    nval = parse_n(n)
    if not nval.is_number:
        raise MarkovICLError("verify needs a numeric n, e.g. 10")
    n_int = int(nval)
    check_int("--steps", steps)
    limits.check_at_most("--steps", steps, limits.MAX_STEPS, "a longer run is a script, not one command")
    check_int("--batch", batch)
    check_int("--mc-samples", mc_samples, 2)
    limits.check_at_most("--mc-samples", mc_samples, limits.MAX_SAMPLES, "drawn in chunks; more is hours of work")
    limits.check_seed("--seed", check_int("--seed", seed, 0))
    check_positive_float("--lr", lr)
    check_positive_float("--init-scale", init_scale)
    if optimizer not in OPTIMIZERS:
        raise MarkovICLError(f"unknown optimizer {optimizer!r}; allowed: {', '.join(OPTIMIZERS)}")
    limits.check_prompt_entries("--batch", batch, n_int, d)
    limits.check_mc_entries("--mc-samples", mc_samples, n_int, d)
    if model not in MODELS:
        raise MarkovICLError(f"unknown model {model!r}; allowed: {', '.join(MODELS)}")
    check_sampleable(ChainLaw.from_options(p, kernel, init))
    sol = solve(d, p, n_int, kernel=kernel, init=init)
    if not sol.is_numeric:
        raise MarkovICLError(f"verify needs numeric parameters; the law {sol.law.spec()} has free symbols")
    sol.check_minimiser()
    law = sol.law
    net = DenseLSA(d, layers=1, init_scale=init_scale, seed=seed) if model == "dense" else \
        SparseLSA(d, init_scale=init_scale, seed=seed)
    t0 = time.perf_counter()
    res = train(net, law, d, n_int, steps=steps, batch=batch, lr=lr, optimizer=optimizer, seed=seed,
                schedule=schedule, progress=progress)
    X = phi(*one_layer_params(net)).detach().numpy()
    mc = estimate_loss(net, law, d, n_int, mc_samples, seed=seed + 1_000_003)
    exact = float(sol.f_tilde(X))
    ft = float(sol.f_tilde_star)
    xs = np.array([float(x) for x in sol.X_star])
    extra = {}
    if with_f_star:
        from markov_icl.symbolic.varpro import best_one_layer

        fs = best_one_layer(sol)
        extra = {"f_star": float(fs.f_star), "f_star_certificate": fs.certificate}
    return check_finite({
        "d": d,
        "p": str(p),
        "n": str(n),
        "kernel": law.kernel.spec(),
        "init": law.init.spec(),
        "index": [list(ix) for ix in sol.index],
        "trained_loss_exact": exact,
        "trained_loss_mc": float(mc.mean),
        "trained_loss_mc_stderr": float(mc.stderr),
        "f_tilde_star": str(sol.f_tilde_star),
        "f_tilde_star_float": ft,
        "gap": exact - ft,
        "X_star": [str(x) for x in sol.X_star],
        "X_star_float": xs.tolist(),
        "phi_trained": [float(x) for x in X],
        "phi_distance": float(np.linalg.norm(X - xs)),
        **extra,
        "final_train_loss": res.losses[-1],
        "seconds": time.perf_counter() - t0,
        "config": {**res.config, "model": model, "init_scale": init_scale, "mc_samples": mc_samples},
    }, "verify")


__all__ = ["verify", "DEFAULTS", "MODELS"]
