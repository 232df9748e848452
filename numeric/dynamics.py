"""Trajectories of one-layer parameterizations: the exact gradient flow, descent on the exact loss, and training.

Three ways to move ``theta`` from ``theta_0``, all recorded at the same times ``t = step * lr``
where a step size exists:

* :func:`integrate_flow`: ``theta' = -grad f(theta)`` with SciPy's ``solve_ivp`` (DOP853,
  tolerances given), on the exact population gradient lambdified from
  :class:`~markov_icl.symbolic.dynamics.PopulationLoss`;
* :func:`descend`: gradient descent (or Adam, as people use it) on that exact gradient;
* :func:`train_on_prompts`: the numeric layer's training (:func:`~markov_icl.numeric.train.train`)
  of a :class:`~markov_icl.numeric.lsa.ParamLSA` on sampled prompts: full-batch gradient descent on
  a fixed dataset (``optimizer="sgd"``, the empirical loss, whose gradient is the population
  gradient up to Monte Carlo error) or Adam.

Each returns ``(t, theta)``: times ``(K,)`` and parameters ``(K, k)`` (for Adam ``t`` counts steps).

Examples:
    >>> from markov_icl.symbolic.dynamics import PopulationLoss
    >>> from markov_icl.symbolic.param import preset
    >>> from markov_icl.symbolic.solve import solve
    >>> _, grad = PopulationLoss(preset("gd", 1), solve(1, "1/2", 10)).lambdify()
    >>> t, th = integrate_flow(grad, [0.0], 5.0, np.linspace(0, 5, 3))
    >>> t.tolist(), th.shape
    ([0.0, 2.5, 5.0], (3, 1))
"""

from __future__ import annotations

import math

import numpy as np

from markov_icl.errors import Diverged, MarkovICLError, check_int, shown


def integrate_flow(grad, theta0, t_end: float, t_eval, rtol: float = 1e-10, atol: float = 1e-13,
                   method: str = "DOP853") -> tuple[np.ndarray, np.ndarray]:
    """Integrate ``theta' = -grad(theta)`` from ``theta0`` over ``[0, t_end]``, reported at ``t_eval``.

    Raises:
        Diverged: when the solver fails or leaves the finite numbers.

    Examples:
        >>> grad = lambda th: 2 * 0.05 * (th - 5 / 3)        # f = 1/2 - eta/6 + eta^2/20: the gd preset, d = 1
        >>> t, th = integrate_flow(grad, [0.0], 10.0, [0.0, 10.0])
        >>> th[:, 0].round(6).tolist()                       # eta* (1 - exp(-2 G t)), G = 1/20
        [0.0, 1.053534]
    """
    from scipy.integrate import solve_ivp

    if isinstance(t_end, bool) or not (isinstance(t_end, (int, float)) and math.isfinite(t_end) and t_end > 0):
        raise MarkovICLError(f"--time must be a finite number > 0, got {shown(t_end)}")
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if isinstance(tol, bool) or not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
            raise MarkovICLError(f"{name} must be a finite number > 0, got {shown(tol)}")
    y0 = _float_vector(theta0, "theta0")
    times = _float_vector(t_eval, "t_eval")
    if (times < 0).any() or (times > t_end).any() or (np.diff(times) < 0).any():
        raise MarkovICLError(f"t_eval must be increasing times in [0, t_end = {t_end:g}]")
    if not callable(grad):
        raise MarkovICLError(f"grad must be a function of theta, got {type(grad).__name__}")

    def rhs(_t, y):
        g = np.asarray(grad(y), dtype=np.float64)
        if g.shape != y.shape or not np.isfinite(g).all():  # a NaN slope would stall the step-size control
            raise Diverged(f"the gradient is not finite at t = {_t:.4g} (or has the wrong shape {g.shape})")
        return -g

    res = solve_ivp(rhs, (0.0, float(t_end)), y0, method=method, t_eval=times, rtol=rtol, atol=atol)
    if not res.success or not np.isfinite(res.y).all():
        raise Diverged(f"the gradient flow could not be integrated to t = {t_end:g}: {res.message}")
    return res.t, res.y.T


def _float_vector(x, name: str) -> np.ndarray:
    """``x`` as a finite 1-d float64 array (one clear line otherwise)."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise MarkovICLError(f"{name} must be a vector of real numbers, got {shown(x)}") from None
    if a.ndim != 1 or a.size == 0 or not np.isfinite(a).all():
        raise MarkovICLError(f"{name} must be a non-empty vector of finite numbers, got {shown(x)}")
    return a


def descend(grad, theta0, lr: float, steps: int, optimizer: str = "gd", every: int = 1,
            betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """Gradient descent (``"gd"``: ``theta <- theta - lr grad``) or Adam (``"adam"``, PyTorch's update with
    bias correction) on ``grad``, recording every ``every`` steps; ``t = step * lr`` for GD, the step for Adam."""
    check_int("steps", steps)
    check_int("every", every)
    if optimizer not in ("gd", "adam"):
        raise MarkovICLError(f"optimizer must be gd or adam, got {optimizer!r}")
    th = _float_vector(theta0, "theta0").copy()
    m = np.zeros_like(th)
    v = np.zeros_like(th)
    ts, out = [0.0], [th.copy()]
    for k in range(1, steps + 1):
        g = grad(th)
        if optimizer == "gd":
            th = th - lr * g
        else:
            m = betas[0] * m + (1 - betas[0]) * g
            v = betas[1] * v + (1 - betas[1]) * g * g
            mh, vh = m / (1 - betas[0] ** k), v / (1 - betas[1] ** k)
            th = th - lr * mh / (np.sqrt(vh) + eps)
        if not np.isfinite(th).all():
            raise Diverged(f"{optimizer} diverged at step {k} (lower the learning rate)")
        if k % every == 0 or k == steps:
            ts.append(k * lr if optimizer == "gd" else float(k))
            out.append(th.copy())
    return np.array(ts), np.array(out)


def train_on_prompts(param, law, n: int, theta0, lr: float, steps: int, optimizer: str = "sgd",
                     dataset_size: int = 20_000, seed: int = 0, every: int = 1, sampler=None):
    """Train a :class:`~markov_icl.numeric.lsa.ParamLSA` of ``param`` from ``theta0`` on sampled prompts.

    ``optimizer="sgd"`` with the whole dataset each step is full-batch gradient descent on the empirical
    squared loss (theory §2): the population flow up to the Monte Carlo error of ``dataset_size`` prompts.
    Returns ``(t, theta)`` as :func:`descend` (``t = step * lr`` for sgd).
    """
    import torch

    from markov_icl.numeric.lsa import ParamLSA
    from markov_icl.numeric.train import train

    model = ParamLSA(param, seed=0)
    with torch.no_grad():
        model.theta.copy_(torch.as_tensor(np.asarray(theta0, float), dtype=model.theta.dtype))
    ts, out = [0.0], [model.theta.detach().numpy().copy()]

    def record(step, m, _loss):
        k = step + 1
        if k % every == 0 or k == steps:
            ts.append(k * lr if optimizer == "sgd" else float(k))
            out.append(m.theta.detach().numpy().copy())

    train(model, law, param.d, n, steps=steps, batch=dataset_size, lr=lr, optimizer=optimizer, seed=seed,
          online=False, dataset_size=dataset_size, progress=False, callback=record, sampler=sampler)
    return np.array(ts), np.array(out)


__all__ = ["integrate_flow", "descend", "train_on_prompts"]
