"""``markov-icl verify``: train a one-layer LSA and compare it with the exact optimum
(:func:`markov_icl.numeric.verify.verify`)."""

from __future__ import annotations

import json
import os

from markov_icl.errors import MarkovICLError, check_int, float_option, int_option
from markov_icl.limits import DEFAULT_MAX_D, announce
from markov_icl.numeric.train import OPTIMIZERS
from markov_icl.numeric.verify import DEFAULTS, MODELS, verify
from markov_icl.symbolic.param import PRESETS


def _count(k: int, noun: str) -> str:
    return f"{k} {noun}" + ("" if k == 1 else "s")


def format_text(res: dict) -> str:
    """A readable report of :func:`verify`."""
    cfg = res["config"]
    what = (f"one-layer LSA in the {res['param']} parameterization ({_count(len(res['theta_trained']), 'free parameter')})"
            if "param" in res else f"one-layer {cfg['model']} LSA")
    lines = [
        f"markov-icl verify  d={res['d']}  p={res['p']}  n={res['n']}  kernel={res['kernel']}  init={res['init']}",
        f"trained a {what}: {cfg['optimizer']} lr={cfg['lr']} ({cfg['schedule']}), "
        f"{cfg['steps']} steps x {cfg['batch']} fresh prompts, seed {cfg['seed']}  [{res['seconds']:.1f} s]",
        "",
        f"trained loss, exact from H, beta   {res['trained_loss_exact']:.8f}",
        f"trained loss, Monte Carlo          {res['trained_loss_mc']:.8f} +- {res['trained_loss_mc_stderr']:.8f}"
        f"  ({cfg['mc_samples']} prompts)",
        f"f~* (exact optimum)                {res['f_tilde_star_float']:.8f}   (= {res['f_tilde_star']})",
        f"gap trained - f~*                  {res['gap']:.3e}",
    ]
    if "f_star" in res:
        gap_star = res["f_star"] - res["f_tilde_star_float"]
        lines.append(f"best one-layer f*                  {res['f_star']:.8f}   (f* - f~* = {gap_star:.3e})")
    if "param" in res:
        exact = "" if res["theta_star"] is None else f"   (= {res['f_param_star']})"
        lines += [
            f"{'f_param* (best ' + res['param'] + ' loss)':<34} {res['f_param_star_float']:.8f}{exact}",
            f"gap trained - f_param*             {res['gap_param']:.3e}",
            "",
            f"{'k':>4}  {'theta':<16} {'trained':>12} {'theta*':>12}",
        ]
        star = res["theta_star_float"] or [None] * len(res["theta_trained"])
        for k, (name, t, ts) in enumerate(zip(res["params"], res["theta_trained"], star), start=1):
            lines.append(f"{k:>4}  {name:<16} {t:>12.6f} {'-' if ts is None else f'{ts:.6f}':>12}")
    lines += [
        "",
        f"{'r':>4}  {'[j,u,v]':<10} {'phi(b, A)':>12} {'X*':>12}",
    ]
    for r, (ix, x, xs) in enumerate(zip(res["index"], res["phi_trained"], res["X_star_float"]), start=1):
        lines.append(f"{r:>4}  {str(ix):<10} {x:>12.6f} {xs:>12.6f}")
    lines.append(f"||phi - X*|| = {res['phi_distance']:.6f}")
    if "saved" in res:
        lines.append(f"saved the trained state_dict to {res['saved']}")
    return "\n".join(lines)


def register(sub, argv=()) -> None:
    """Add the ``verify`` subcommand to the CLI."""
    ap = sub.add_parser("verify", help="train a one-layer LSA and compare it with the exact optimum",
                        description="Train a one-layer LSA (docs/theory.md section 2) on fresh prompts; report its "
                                    "exact population loss from H, beta, a Monte Carlo estimate, f~*, X* and "
                                    "||phi(b, A) - X*||. With --param NAME the model is that parameterization's free "
                                    "parameters theta, also compared with its exact optimum f_param* and theta*.")
    ap.add_argument("--d", type=int_option, required=True, help="chain input length d >= 1")
    ap.add_argument("--p", required=True, help="initial-state probability, exact (e.g. 1/2)")
    ap.add_argument("--n", required=True, help="number of context chains")
    ap.add_argument("--steps", type=int_option, default=DEFAULTS["steps"], help=f"training steps (default {DEFAULTS['steps']})")
    ap.add_argument("--seed", type=int_option, default=0, help="seed of the initialisation and of the prompts (default 0)")
    ap.add_argument("--batch", type=int_option, default=DEFAULTS["batch"], help=f"prompts per step (default {DEFAULTS['batch']})")
    ap.add_argument("--lr", type=float_option, default=DEFAULTS["lr"],
                    help=f"learning rate (default {DEFAULTS['lr']}, cosine to 0)")
    ap.add_argument("--optimizer", choices=OPTIMIZERS, default=DEFAULTS["optimizer"])
    which = ap.add_mutually_exclusive_group()
    which.add_argument("--model", choices=MODELS, default=None,
                       help=f"dense P, Q (default {DEFAULTS['model']}) or the sparse (b, A) parameterisation")
    which.add_argument("--param", choices=PRESETS, default=None,
                       help="train the free parameters of this one-layer parameterization (ahn: Ahn et al.'s "
                            "Transformer_F, zfb, gd: one gradient step, dense, sparse; see 'markov-icl optimum') and "
                            "also compare with its own exact optimum f_param*; not with --model")
    ap.add_argument("--init-scale", type=float_option, default=DEFAULTS["init_scale"], help="std of the initial entries")
    ap.add_argument("--mc-samples", type=int_option, default=DEFAULTS["mc_samples"], help="prompts of the Monte Carlo loss")
    ap.add_argument("--kernel", default="uniform", help="uniform | beta:AA,BA,AC,BC | fixed:A,C")
    ap.add_argument("--init", default="iid",
                    help="iid | query_conditional:PI0,PI1 | example_c5 (the correlated law has no sampler)")
    ap.add_argument("--f-star", action="store_true", help="also report the best one-layer loss f* (docs/theory.md section 6)")
    ap.add_argument("--threads", type=int_option, default=1, help="torch CPU threads (default 1: small tensors)")
    ap.add_argument("--max-d", type=int_option, default=None,
                    help=f"raise the limit on d (default {DEFAULT_MAX_D['verify']}: the exact optimum takes minutes "
                         "at d = 8)")
    ap.add_argument("--save", metavar="FILE", default=None,
                    help="write the trained model's state_dict to FILE (torch.save; written whole or not at all)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.set_defaults(func=run)


def run(args) -> int:
    """Check the options, train, print."""
    if not 1 <= args.threads <= (os.cpu_count() or 1):
        raise MarkovICLError(f"--threads must be between 1 and the number of CPUs ({os.cpu_count() or 1}), "
                             f"got {args.threads}")
    check_int("--d", args.d, 1)
    import torch

    torch.set_num_threads(args.threads)
    with announce("verify", args.d):
        res = verify(args.d, args.p, args.n, steps=args.steps, seed=args.seed, batch=args.batch, lr=args.lr,
                     optimizer=args.optimizer, init_scale=args.init_scale, mc_samples=args.mc_samples,
                     model=args.model, kernel=args.kernel, init=args.init, progress=True, with_f_star=args.f_star,
                     max_d=args.max_d, param=args.param, save=args.save)
    out = res.to_dict()
    print(json.dumps(out, allow_nan=False) if args.json else format_text(out))
    return 0


__all__ = ["register", "run", "format_text"]
