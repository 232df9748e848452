"""Cross-check a trained one-layer LSA against the derived optimum (what ``markov-icl verify`` reports).

:func:`verify` trains a one-layer LSA (theory §2) on fresh prompts and compares it with the
exact objective of :func:`markov_icl.symbolic.solve.solve`:

* ``trained_loss_exact``: the trained model's population loss computed from the derived
  objective, ``f~(phi(b, A))`` (theory §3);
* ``trained_loss_mc`` and its standard error: an independent Monte Carlo estimate of
  ``E[(yhat - y_q)^2]`` on fresh prompts;
* ``f_tilde_star``, ``X_star``: the exact optimum (strings, with ``_float`` twins);
* ``phi_trained`` and ``phi_distance = ||phi(b, A) - X*||_2``.

With ``param`` (a name of :data:`markov_icl.symbolic.param.PRESETS`, or a
:class:`~markov_icl.symbolic.param.Parameterization`) the model is a
:class:`~markov_icl.numeric.lsa.ParamLSA` in that parameterization's free parameters ``theta``,
and it is also compared with its own exact optimum
(:func:`markov_icl.symbolic.param.optimum`): ``param``, ``f_param_star`` (exact string; for
``dense`` / ``sparse`` it is ``f*``, a float from the certified search, as a string),
``f_param_star_float``, ``gap_param = trained_loss_exact - f_param_star_float``,
``theta_trained``, ``theta_star`` (exact strings) and ``theta_star_float`` (both None for the
bilinear ``dense`` / ``sparse``). ``gap`` stays the gap to ``f~*``. ``param`` and ``model``
exclude each other.

With ``save`` the trained model's ``state_dict()`` is written with ``torch.save`` (to
``save + ".tmp"``, then renamed, so no half-written file is left), and ``saved`` is the path.

At a realisable point (theory §6) the trained loss reaches ``f~*`` and ``phi`` reaches ``X*``
(``phi`` is invariant under ``b -> t b, A -> A / t``); where X* is not realisable the gap
stays positive, and ``with_f_star`` adds the best one-layer loss f*.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from markov_icl import limits
from markov_icl.errors import MarkovICLError, check_finite, check_int, check_positive_float
from markov_icl.numeric.lsa import DenseLSA, ParamLSA, SparseLSA, one_layer_params
from markov_icl.numeric.montecarlo import estimate_loss
from markov_icl.numeric.prompts import check_sampleable
from markov_icl.numeric.train import OPTIMIZERS, train
from markov_icl.symbolic.laws import ChainLaw
from markov_icl.symbolic.model import phi
from markov_icl.symbolic.objective import check_d, parse_n
from markov_icl.symbolic.solve import solve

if TYPE_CHECKING:
    from torch import nn

    from markov_icl.types import Exact

#: defaults that reach f~* within 1e-6 at d = 1, p = 1/2, n = 10 in a few seconds
DEFAULTS: dict[str, Any] = dict(steps=1500, batch=1024, lr=0.05, optimizer="adam", schedule="cosine", init_scale=0.5,
                mc_samples=200_000, model="dense")

MODELS = ("dense", "sparse")

#: the keys of :meth:`Verification.to_dict`, in order: always, with ``with_f_star``, with ``param``, always, with ``save``
_BASE = ("d", "p", "n", "kernel", "init", "index", "trained_loss_exact", "trained_loss_mc", "trained_loss_mc_stderr",
         "f_tilde_star", "f_tilde_star_float", "gap", "X_star", "X_star_float", "phi_trained", "phi_distance")
_F_STAR = ("f_star", "f_star_certificate")
_PARAM = ("param", "param_description", "params", "f_param_star", "f_param_star_float", "gap_param",
          "f_param_star_method", "theta_trained", "theta_star", "theta_star_float")
_END = ("final_train_loss", "seconds", "config")


@dataclass
class Verification:
    """What :func:`verify` returns: a trained one-layer LSA against the exact optimum (the module docstring names
    every field; :meth:`to_dict` is the JSON object of ``markov-icl verify --json``).

    Exact values are strings (``f_tilde_star``, ``X_star``, ``f_param_star``, ``theta_star``) with ``_float`` twins;
    the ``f_star`` fields are None unless asked for (``with_f_star``), the ``param`` fields unless a parameterization
    was trained, ``saved`` unless the model was saved. ``model`` is the trained model (not in :meth:`to_dict`).
    """

    d: int
    p: str
    n: str
    kernel: str
    init: str
    index: list
    trained_loss_exact: float
    trained_loss_mc: float
    trained_loss_mc_stderr: float
    f_tilde_star: str
    f_tilde_star_float: float
    gap: float
    X_star: list
    X_star_float: list
    phi_trained: list
    phi_distance: float
    final_train_loss: float
    seconds: float
    config: dict
    f_star: float | None = None
    f_star_certificate: str | None = None
    param: str | None = None
    param_description: str | None = None
    params: list | None = None
    f_param_star: str | None = None
    f_param_star_float: float | None = None
    gap_param: float | None = None
    f_param_star_method: str | None = None
    theta_trained: list | None = None
    theta_star: list | None = None
    theta_star_float: list | None = None
    saved: str | None = None
    model: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        """The JSON-ready dict of ``markov-icl verify --json`` (keys in the order of the module docstring; the
        optional groups only when present)."""
        keys = [*_BASE, *(_F_STAR if self.f_star is not None else ()), *(_PARAM if self.param is not None else ()),
                *_END, *(("saved",) if self.saved is not None else ())]
        return {k: getattr(self, k) for k in keys}

    def __repr__(self) -> str:
        what = f", param={self.param}" if self.param is not None else ""
        return (f"Verification(d={self.d}, p={self.p}, n={self.n}{what}, trained_loss_exact={self.trained_loss_exact:.8g}, "
                f"f_tilde_star={self.f_tilde_star}, gap={self.gap:.3e})")

    def _repr_markdown_(self) -> str:
        from markov_icl.display import markdown_table

        rows = [("trained loss (exact, from H and beta)", f"{self.trained_loss_exact:.8f}"),
                ("trained loss (Monte Carlo)", f"{self.trained_loss_mc:.8f} ± {self.trained_loss_mc_stderr:.1e}"),
                ("$\\tilde f^*$ (exact optimum)", f"{self.f_tilde_star_float:.8f} $= {_tex(self.f_tilde_star)}$"),
                ("gap trained $- \\tilde f^*$", f"{self.gap:.3e}")]
        if self.f_star is not None:
            rows.append(("best one-layer $f^*$", f"{self.f_star:.8f}"))
        if self.param is not None:
            rows.append((f"best {self.param} loss $f_{{\\rm param}}^*$", f"{self.f_param_star_float:.8f}"))
        title = f"**verify** $d = {self.d}$, $p = {_tex(self.p)}$, $n = {self.n}$ ({self.config.get('steps')} steps)"
        return title + "\n\n" + markdown_table(("quantity", "value"), rows)


def _tex(text: str) -> str:
    from markov_icl.display import tex_of

    return tex_of(text)


def verify(d: int, p: Exact, n: Exact, *, steps: int = DEFAULTS["steps"], seed: int = 0, batch: int = DEFAULTS["batch"],
           lr: float = DEFAULTS["lr"], optimizer: str = DEFAULTS["optimizer"], schedule: str = DEFAULTS["schedule"],
           init_scale: float = DEFAULTS["init_scale"], mc_samples: int = DEFAULTS["mc_samples"],
           model: str | None = None, kernel: str = "uniform", init: str = "iid", progress: bool = True,
           with_f_star: bool = False, max_d: int | None = None, param=None, save=None) -> Verification:
    """Train a one-layer LSA at ``(d, p, n)`` and compare it with the exact optimum.

    Args:
        d, p, n: the point (p exact in (0, 1), n an integer >= 1).
        steps, batch, lr, optimizer, schedule, init_scale, seed: the training run.
        mc_samples: prompts of the Monte Carlo loss estimate.
        model: ``"dense"`` (P, Q, the default) or ``"sparse"`` ((b, A)); not with ``param``.
        param: train a :class:`~markov_icl.numeric.lsa.ParamLSA` in this parameterization (a preset name,
            :data:`~markov_icl.symbolic.param.PRESETS`, or a ``Parameterization`` of input length ``d``) and
            compare it with its exact optimum too (module docstring); not with ``model``.
        save: write the trained model's ``state_dict()`` here (``torch.save``; atomic: ``save + ".tmp"``, renamed).
        kernel, init: the chain law (sampleable laws only: not ``correlated``).
        with_f_star: also report ``f_star``, the best one-layer loss (theory §6).
        max_d: raise the limit on d (:data:`markov_icl.limits.DEFAULT_MAX_D`).

    Returns:
        A :class:`Verification` (its fields: the module docstring's plus ``d, p, n, kernel, init, index, gap,
        final_train_loss, seconds, config``, the ``param`` ones and ``saved`` when asked for, and the trained
        ``model``); :meth:`Verification.to_dict` is the command's JSON.

    Raises:
        MarkovICLError: bad input, before any training (the sizes: :mod:`markov_icl.limits`).
        Diverged: the training loss or the trained model is not finite.

    Examples:
        >>> res = verify(1, "1/2", 10, steps=300, batch=256, mc_samples=2000, progress=False)
        >>> res.f_tilde_star, res.gap < 1e-3
        ('121/342', True)
        >>> res = verify(1, "1/2", 10, steps=300, batch=256, mc_samples=2000, progress=False, param="gd")
        >>> res.f_param_star, res.theta_star, res.gap_param < 1e-4, res.to_dict()["theta_star"]   # eta* = 5/3
        ('13/36', ['5/3'], True, ['5/3'])
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
    if model is not None and param is not None:
        raise MarkovICLError("give a model (dense, sparse) or a parameterization (--param), not both")
    model = DEFAULTS["model"] if model is None else model
    if model not in MODELS:
        raise MarkovICLError(f"unknown model {model!r}; allowed: {', '.join(MODELS)}")
    parameterization = None if param is None else _parameterization(param, d)
    net: nn.Module
    save = None if save is None else _check_save(save)
    check_sampleable(ChainLaw.from_options(p, kernel, init))
    sol = solve(d, p, n_int, kernel=kernel, init=init)
    if not sol.is_numeric:
        raise MarkovICLError(f"verify needs numeric parameters; the law {sol.law.spec()} has free symbols")
    sol.check_minimiser()
    law = sol.law
    if parameterization is not None:
        from markov_icl.symbolic.param import optimum

        opt = optimum(param=parameterization, solution=sol, with_f_star=False)
        net = ParamLSA(parameterization, init_scale=init_scale, seed=seed)
    elif model == "dense":
        net = DenseLSA(d, layers=1, init_scale=init_scale, seed=seed)
    else:
        net = SparseLSA(d, init_scale=init_scale, seed=seed)
    t0 = time.perf_counter()
    res = train(net, law, d, n_int, steps=steps, batch=batch, lr=lr, optimizer=optimizer, seed=seed,
                schedule=schedule, progress=progress)
    X = phi(*one_layer_params(net)).detach().numpy()
    mc = estimate_loss(net, law, d, n_int, mc_samples, seed=seed + 1_000_003)
    exact = float(sol.f_tilde(X))
    X_star: Any = sol.X_star  # derived: the point is numeric and H positive definite (check_minimiser)
    f_tilde_star: Any = sol.f_tilde_star
    ft = float(f_tilde_star)
    xs = np.array([float(x) for x in X_star])
    extra = {}
    if with_f_star:
        from markov_icl.symbolic.varpro import best_one_layer

        fs = best_one_layer(sol)
        extra = {"f_star": float(fs.f_star), "f_star_certificate": fs.certificate}
    if parameterization is not None:
        fp = float(opt.f_param_star)
        extra.update({
            "param": parameterization.name,
            "param_description": parameterization.description,
            "params": [str(s) for s in parameterization.params],
            "f_param_star": str(opt.f_param_star),
            "f_param_star_float": fp,
            "gap_param": exact - fp,
            "f_param_star_method": opt.method,
            "theta_trained": cast(Any, net).theta.detach().tolist(),
            "theta_star": None if opt.theta_star is None else [str(t) for t in opt.theta_star],
            "theta_star_float": None if opt.theta_star is None else [float(t) for t in opt.theta_star],
        })
    result = check_finite({
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
        "X_star": [str(x) for x in X_star],
        "X_star_float": xs.tolist(),
        "phi_trained": [float(x) for x in X],
        "phi_distance": float(np.linalg.norm(X - xs)),
        **extra,
        "final_train_loss": res.losses[-1],
        "seconds": time.perf_counter() - t0,
        "config": {**res.config, "model": "param" if parameterization is not None else model,
                   "param": None if parameterization is None else parameterization.name,
                   "init_scale": init_scale, "mc_samples": mc_samples},
    }, "verify")
    if save is not None:  # only a finite, checked model is written
        _save_state(net, save)
        result["saved"] = save
    return Verification(**result, model=net)


def _parameterization(param, d: int):
    """The :class:`~markov_icl.symbolic.param.Parameterization` named by ``param`` at input length ``d``."""
    from markov_icl.symbolic.param import PRESETS, Parameterization, preset

    if isinstance(param, Parameterization):
        if param.d != d:
            raise MarkovICLError(f"parameterization {param.name!r} has d = {param.d}, but d = {d}")
        return param
    if not isinstance(param, str) or param not in PRESETS:
        raise MarkovICLError(f"unknown parameterization {param!r}; allowed: {', '.join(PRESETS)}")
    return preset(param, d)


def _check_save(save) -> str:
    """The path to save to, checked before any training: a file name in an existing, writable folder."""
    if not isinstance(save, (str, os.PathLike)):
        raise MarkovICLError(f"--save: expected a file name, got {type(save).__name__}")
    path = os.fspath(save)
    if not path or os.path.isdir(path):
        raise MarkovICLError(f"--save {path!r}: is a folder, not a file name" if path else "--save: empty file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise MarkovICLError(f"--save {path!r}: the folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise MarkovICLError(f"--save {path!r}: the folder {folder!r} is not writable")
    return path


def _save_state(net, path: str) -> None:
    """``torch.save(net.state_dict())`` to ``path + ".tmp"``, then ``os.replace`` onto ``path``."""
    import torch

    tmp = path + ".tmp"
    try:
        torch.save(net.state_dict(), tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


__all__ = ["verify", "Verification", "DEFAULTS", "MODELS"]
