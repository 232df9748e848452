"""The ``verify`` job: train a one-layer LSA and check it against the derived optimum.

``markov-icl verify --d D --p P --n N`` trains a one-layer LSA (SPEC §2) on fresh prompts
and reports

* ``trained_loss_exact``: its population loss computed exactly from the derived objective,
  ``f = E[y^2] - 2 beta^T phi + phi^T H phi`` with ``phi = phi(b, A)`` (SPEC §3);
* ``trained_loss_mc`` / ``trained_loss_mc_stderr``: an independent Monte Carlo estimate of
  ``E[(yhat - y_q)^2]`` on fresh prompts, with its standard error;
* ``f_tilde_star``, ``X_star``: the exact optimum of the enlarged space (as floats);
* ``phi_trained`` and ``phi_distance = ||phi - X*||_2``.

At a realisable point (SPEC §6) the trained loss reaches ``f~*`` and ``phi`` reaches ``X*``
(``phi`` is invariant under the symmetry ``b -> t b, A -> A / t``); where ``X*`` is not
realisable the gap stays positive.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
import torch

from derivations.objective import build_law
from numeric.lsa import DenseLSA, SparseLSA, one_layer_params, phi
from numeric.montecarlo import estimate_loss
from numeric.train import OPTIMIZERS, train
from symbolic.errors import MarkovICLError, check_int, check_positive_float
from symbolic.objective import ObjectiveTerms, check_d, parse_n
from symbolic.solve import solve_numeric

#: defaults that reach f~* within 1e-6 at d = 1, p = 1/2, n = 10 in a few seconds
DEFAULTS = dict(steps=1500, batch=1024, lr=0.05, optimizer="adam", schedule="cosine", init_scale=0.5,
                mc_samples=200_000, model="dense")


#: largest batch (n+1) (d+1) of one batch of prompts (float64: 1.6 GB)
MAX_PROMPT_ENTRIES = 2 * 10**8


def exact_objective(d: int, p, n: int, kernel: str = "uniform", init: str = "iid") -> dict:
    """Exact H, beta, E[y^2], X*, f~* at a numeric point (SPEC §3), converted to float64."""
    law = build_law(p, kernel, init)
    if law.free_symbols:
        raise MarkovICLError(f"verify needs numeric parameters; free symbols: {sorted(map(str, law.free_symbols))}")
    terms = ObjectiveTerms(d, law)
    sol = solve_numeric(terms, n=n)
    H = np.array([[float(x) for x in row] for row in sol.H.to_Matrix().tolist()], dtype=np.float64)
    return {
        "law": law,
        "index": terms.idx.index,
        "H": H,
        "beta": np.array([float(b) for b in sol.beta]),
        "E_y2": float(sol.E_y2),
        "X_star": np.array([float(x) for x in sol.X_star]),
        "f_tilde_star": float(sol.f_tilde_star),
        "exact": sol,  # the exact solution (for the exact d = 1 route of f*)
    }


def population_loss(X: np.ndarray, obj: dict) -> float:
    """``f~(X) = E[y^2] - 2 beta^T X + X^T H X`` (SPEC §3), exact objective, float X."""
    return float(obj["E_y2"] - 2 * obj["beta"] @ X + X @ obj["H"] @ X)


def verify(d: int, p, n, *, steps: int = DEFAULTS["steps"], seed: int = 0, batch: int = DEFAULTS["batch"],
           lr: float = DEFAULTS["lr"], optimizer: str = DEFAULTS["optimizer"], schedule: str = DEFAULTS["schedule"],
           init_scale: float = DEFAULTS["init_scale"], mc_samples: int = DEFAULTS["mc_samples"],
           model: str = DEFAULTS["model"], kernel: str = "uniform", init: str = "iid", progress: bool = True,
           with_f_star: bool = False) -> dict:
    """Train a one-layer LSA at ``(d, p, n)`` and compare it with the exact optimum (JSON-ready dict).

    With ``with_f_star`` the result also holds ``f_star``, the best one-layer loss
    ``min_{b,A} f(b, A)`` (SPEC §6, variable projection in :mod:`symbolic.varpro`), the
    right target where X* is not realisable.
    """
    check_d(d)
    if p is None:
        raise MarkovICLError("verify needs a numeric --p, e.g. 1/2")
    nval = parse_n(n)
    if not nval.is_number:
        raise MarkovICLError("verify needs a numeric --n, e.g. 10")
    n_int = int(nval)
    check_int("--steps", steps)
    check_int("--batch", batch)
    check_int("--mc-samples", mc_samples, 2)
    if check_int("--seed", seed, 0) >= 2**63:
        raise MarkovICLError(f"--seed must be < 2**63, got {seed}")
    check_positive_float("--lr", lr)
    check_positive_float("--init-scale", init_scale)
    if batch * (n_int + 1) * (d + 1) > MAX_PROMPT_ENTRIES:
        raise MarkovICLError(f"a batch of prompts would hold batch (n+1) (d+1) = {batch * (n_int + 1) * (d + 1):.3g} "
                             f"entries; at most {MAX_PROMPT_ENTRIES:.0e} (lower --batch or --n)")
    if model not in ("dense", "sparse"):
        raise MarkovICLError(f"unknown model {model!r}; allowed: dense, sparse")
    obj = exact_objective(d, p, n_int, kernel, init)
    law = obj["law"]
    net = DenseLSA(d, layers=1, init_scale=init_scale, seed=seed) if model == "dense" else \
        SparseLSA(d, init_scale=init_scale, seed=seed)
    t0 = time.perf_counter()
    res = train(net, law, d, n_int, steps=steps, batch=batch, lr=lr, optimizer=optimizer, seed=seed,
                schedule=schedule, progress=progress)
    X = phi(*one_layer_params(net)).numpy()
    mc = estimate_loss(net, law, d, n_int, mc_samples, seed=seed + 1_000_003)
    exact = population_loss(X, obj)
    extra = {}
    if with_f_star:
        from symbolic.varpro import best_one_layer

        ex = obj["exact"]
        fs = best_one_layer(d, ex.H, ex.beta, ex.E_y2)
        extra = {"f_star": float(fs.f_star), "f_star_certificate": fs.certificate}
    return {
        "d": d,
        "p": str(p),
        "n": str(n),
        "kernel": law.kernel.spec(),
        "init": law.init.spec(),
        "index": obj["index"],
        "trained_loss_exact": exact,
        "trained_loss_mc": float(mc.mean),
        "trained_loss_mc_stderr": float(mc.stderr),
        "f_tilde_star": obj["f_tilde_star"],
        "gap": exact - obj["f_tilde_star"],
        "X_star": [float(x) for x in obj["X_star"]],
        "phi_trained": [float(x) for x in X],
        "phi_distance": float(np.linalg.norm(X - obj["X_star"])),
        **extra,
        "final_train_loss": res.losses[-1],
        "seconds": time.perf_counter() - t0,
        "config": {**res.config, "model": model, "init_scale": init_scale, "mc_samples": mc_samples},
    }


def format_text(res: dict) -> str:
    """A readable report of :func:`verify`."""
    cfg = res["config"]
    lines = [
        f"markov-icl verify  d={res['d']}  p={res['p']}  n={res['n']}  kernel={res['kernel']}  init={res['init']}",
        f"trained a one-layer {cfg['model']} LSA: {cfg['optimizer']} lr={cfg['lr']} ({cfg['schedule']}), "
        f"{cfg['steps']} steps x {cfg['batch']} fresh prompts, seed {cfg['seed']}  [{res['seconds']:.1f} s]",
        "",
        f"trained loss, exact from H, beta   {res['trained_loss_exact']:.8f}",
        f"trained loss, Monte Carlo          {res['trained_loss_mc']:.8f} +- {res['trained_loss_mc_stderr']:.8f}"
        f"  ({cfg['mc_samples']} prompts)",
        f"f~* (exact optimum)                {res['f_tilde_star']:.8f}",
        f"gap trained - f~*                  {res['gap']:.3e}",
    ]
    if "f_star" in res:
        gap_star = res["f_star"] - res["f_tilde_star"]
        lines.append(f"best one-layer f* (SPEC §6)        {res['f_star']:.8f}   (f* - f~* = {gap_star:.3e})")
    lines += [
        "",
        f"{'r':>4}  {'[j,u,v]':<10} {'phi(b, A)':>12} {'X*':>12}",
    ]
    for r, (ix, x, xs) in enumerate(zip(res["index"], res["phi_trained"], res["X_star"]), start=1):
        lines.append(f"{r:>4}  {str(ix):<10} {x:>12.6f} {xs:>12.6f}")
    lines.append(f"||phi - X*|| = {res['phi_distance']:.6f}")
    return "\n".join(lines)


def register(sub) -> None:
    """Add the ``verify`` subcommand to the CLI."""
    ap = sub.add_parser("verify", help="train a one-layer LSA and compare it with the exact optimum",
                        description="Train a one-layer LSA (SPEC §2) on fresh prompts; report its exact population "
                                    "loss from H, beta, a Monte Carlo estimate, f~*, X* and ||phi(b, A) - X*||.")
    ap.add_argument("--d", type=int, required=True, help="chain input length d >= 1")
    ap.add_argument("--p", required=True, help="initial-state probability, exact (e.g. 1/2)")
    ap.add_argument("--n", required=True, help="number of context chains")
    ap.add_argument("--steps", type=int, default=DEFAULTS["steps"], help=f"training steps (default {DEFAULTS['steps']})")
    ap.add_argument("--seed", type=int, default=0, help="seed of the initialisation and of the prompts (default 0)")
    ap.add_argument("--batch", type=int, default=DEFAULTS["batch"], help=f"prompts per step (default {DEFAULTS['batch']})")
    ap.add_argument("--lr", type=float, default=DEFAULTS["lr"], help=f"learning rate (default {DEFAULTS['lr']}, cosine to 0)")
    ap.add_argument("--optimizer", choices=OPTIMIZERS, default=DEFAULTS["optimizer"])
    ap.add_argument("--model", choices=("dense", "sparse"), default=DEFAULTS["model"],
                    help="dense P, Q (default) or the sparse (b, A) parameterisation")
    ap.add_argument("--init-scale", type=float, default=DEFAULTS["init_scale"], help="std of the initial entries")
    ap.add_argument("--mc-samples", type=int, default=DEFAULTS["mc_samples"], help="prompts of the Monte Carlo loss")
    ap.add_argument("--kernel", default="uniform", help="uniform | beta:AA,BA,AC,BC | fixed:A,C")
    ap.add_argument("--init", default="iid", help="iid | example_c5 (the correlated law has no sampler)")
    ap.add_argument("--f-star", action="store_true", help="also report the best one-layer loss f* (SPEC §6)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: small tensors)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.set_defaults(func=_run)


def _run(args) -> int:
    if not 1 <= args.threads <= (os.cpu_count() or 1):
        raise MarkovICLError(f"--threads must be between 1 and the number of CPUs ({os.cpu_count() or 1}), "
                             f"got {args.threads}")
    torch.set_num_threads(args.threads)
    res = verify(args.d, args.p, args.n, steps=args.steps, seed=args.seed, batch=args.batch, lr=args.lr,
                 optimizer=args.optimizer, init_scale=args.init_scale, mc_samples=args.mc_samples, model=args.model,
                 kernel=args.kernel, init=args.init, progress=True, with_f_star=args.f_star)
    print(json.dumps(res) if args.json else format_text(res))
    return 0


__all__ = ["verify", "exact_objective", "population_loss", "format_text", "register", "DEFAULTS"]
