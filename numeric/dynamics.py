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

Each returns ``(t, theta)``: times ``(K,)`` and parameters ``(K, k)`` (for Adam ``t`` counts steps);
:func:`descend` and :func:`train_on_prompts` also call ``on_step(k, theta_k)`` after every step.

When a loss falls to a level (theory §12, the escape time), written once:

* :func:`flow_crossing`: the flow's first crossing, a root of ``f(theta(t)) - level`` found on the
  solver's dense output (SciPy's event location: Brent's method on the step's interpolant);
* :class:`IterateCrossing`: gradient descent's first crossing on *every* iterate (an ``on_step``
  callback): the first iterate ``k*`` with ``f(theta_k*) <= level``, and the time ``t*`` where the
  piecewise-linear interpolation of ``(k lr, f(theta_k))`` reaches the level, ``(k* - 1) lr < t* <= k* lr``;
* :func:`interpolated_crossing`: the same interpolation on any sampled curve.

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


def _check_time(t_end) -> None:
    if not (isinstance(t_end, (int, float)) and math.isfinite(t_end) and t_end > 0):
        raise MarkovICLError(f"--time must be a finite number > 0, got {t_end!r}")


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


def flow_crossing(grad, loss, theta0, level: float, t_end: float, rtol: float = 1e-10, atol: float = 1e-13,
                  method: str = "DOP853", after: float = 0.0) -> float | None:
    """The first time ``t >= after`` in ``[0, t_end]`` at which ``loss(theta(t))`` falls to ``level`` along
    ``theta' = -grad(theta)`` from ``theta0``, or None.

    A root of ``loss(theta(t)) - level``, decreasing through zero, located by SciPy's event search on the
    solver's dense output (Brent's method on the interpolant of the step in which the sign changes): no
    recording grid, so the time is resolved to the solver's accuracy, not to the spacing of recorded points.
    ``0.0`` when ``loss(theta0) <= level`` (and ``after == 0``). The solver's steps, hence the trajectory, are
    those of :func:`integrate_flow` with the same tolerances.

    Examples:
        >>> grad = lambda th: 2 * 0.05 * (th - 5 / 3)     # f = 13/36 + (eta - 5/3)^2 / 20 (the gd preset, d = 1)
        >>> loss = lambda th: 13 / 36 + 0.05 * (th[0] - 5 / 3) ** 2
        >>> t = flow_crossing(grad, loss, [0.0], 0.4, 100.0)
        >>> round(t, 9), round(5 * math.log((0.5 - 13 / 36) / (0.4 - 13 / 36)), 9)   # f - f* decays as e^{-t/5}
        (6.364828379, 6.364828379)
    """
    from scipy.integrate import solve_ivp

    _check_time(t_end)
    y0 = np.asarray(theta0, dtype=np.float64)
    if after <= 0 and float(loss(y0)) <= level:
        return 0.0

    def event(_t, y):
        return float(loss(y)) - level

    event.direction = -1.0  # type: ignore[attr-defined]
    event.terminal = after <= 0  # type: ignore[attr-defined]  # the first crossing ends the integration; otherwise collect them all
    res = solve_ivp(lambda _t, y: -grad(y), (0.0, float(t_end)), y0, method=method, events=event, rtol=rtol,
                    atol=atol)
    if res.status == -1 or not np.isfinite(res.y).all():
        raise Diverged(f"the gradient flow could not be integrated to t = {t_end:g}: {res.message}")
    times = [float(t) for t in res.t_events[0] if t >= after]
    return times[0] if times else None


def interpolated_crossing(t, y, level: float, start: int = 0, rising: bool = False) -> float | None:
    """The first time at or after index ``start`` when the sampled curve ``y(t)`` falls to ``level`` (with
    ``rising``: rises to it): the first sample ``i >= start`` with ``y[i] <= level`` (``>=``), then linear
    interpolation between samples ``i - 1`` and ``i`` (``t[0]`` when ``i = 0``); None if no sample reaches the level.

    Examples:
        >>> interpolated_crossing(np.array([0.0, 1.0, 2.0]), np.array([1.0, 0.5, 0.0]), 0.25)
        1.5
        >>> interpolated_crossing([0.0, 1.0, 2.0], [0.0, 0.5, 1.0], 0.75, rising=True)
        1.5
    """
    t, y = np.asarray(t, dtype=np.float64), np.asarray(y, dtype=np.float64)
    below = np.nonzero(y[start:] >= level if rising else y[start:] <= level)[0]
    if not len(below):
        return None
    i = start + int(below[0])
    if i == 0:
        return float(t[0])
    return float(t[i - 1] + (level - y[i - 1]) * (t[i] - t[i - 1]) / (y[i] - y[i - 1]))


class IterateCrossing:
    """Gradient descent's first crossing of ``level``, found on every iterate (an ``on_step`` callback).

    Gradient descent is a sequence ``theta_0, theta_1, ...`` at times ``t_k = k lr``. Its crossing is defined
    on that sequence, with no recording grid: :attr:`step` is the first ``k*`` with ``loss(theta_k*) <= level``
    (exact: an integer), and :attr:`time` is where the line through ``(t_{k*-1}, f_{k*-1})`` and
    ``(t_{k*}, f_{k*})`` meets the level (:func:`interpolated_crossing` of those two iterates), so
    ``(k* - 1) lr < time <= k* lr``. The interpolated time is what is compared with the continuous flow: it
    resolves the crossing inside the step rather than rounding it up to a whole step (up to ``lr`` later).
    Losses are evaluated only until the crossing is found.

    Args:
        loss: ``loss(theta) -> float`` (the exact population loss).
        level: the level.
        lr: the step size (time per step).
        theta0: the start (``step = 0``, ``time = 0`` when it is already at or below the level).

    Examples:
        >>> cross = IterateCrossing(lambda th: float(th[0]), 0.25, 0.5, [1.0])
        >>> _ = descend(lambda th: np.ones(1) * 0.5, [1.0], 0.5, 4, on_step=cross)   # theta_k = 1 - k / 4
        >>> cross.step, cross.time                                                  # theta_3 = 0.25: step 3
        (3, 1.5)
    """

    def __init__(self, loss, level: float, lr: float, theta0) -> None:
        self.loss, self.level, self.lr = loss, float(level), float(lr)
        self._prev = float(loss(np.asarray(theta0, dtype=np.float64)))
        self.step: int | None = 0 if self._prev <= self.level else None
        self.time: float | None = 0.0 if self.step == 0 else None

    def __call__(self, k: int, theta) -> None:
        if self.step is not None:
            return
        y = float(self.loss(np.asarray(theta, dtype=np.float64)))
        if y <= self.level:
            self.step = int(k)
            self.time = interpolated_crossing([(k - 1) * self.lr, k * self.lr], [self._prev, y], self.level)
        self._prev = y


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
            betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
            on_step=None) -> tuple[np.ndarray, np.ndarray]:
    """Gradient descent (``"gd"``: ``theta <- theta - lr grad``) or Adam (``"adam"``, PyTorch's update with
    bias correction) on ``grad``, recording every ``every`` steps; ``t = step * lr`` for GD, the step for Adam.
    ``on_step(k, theta_k)``, when given, is called after every step ``k = 1 .. steps`` (e.g. an
    :class:`IterateCrossing`)."""
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
        if on_step is not None:
            on_step(k, th)
        if k % every == 0 or k == steps:
            ts.append(k * lr if optimizer == "gd" else float(k))
            out.append(th.copy())
    return np.array(ts), np.array(out)


def train_on_prompts(param, law, n: int, theta0, lr: float, steps: int, optimizer: str = "sgd",
                     dataset_size: int = 20_000, seed: int = 0, every: int = 1, sampler=None, on_step=None):
    """Train a :class:`~markov_icl.numeric.lsa.ParamLSA` of ``param`` from ``theta0`` on sampled prompts.

    ``optimizer="sgd"`` with the whole dataset each step is full-batch gradient descent on the empirical
    squared loss (theory §2): the population flow up to the Monte Carlo error of ``dataset_size`` prompts.
    Returns ``(t, theta)`` as :func:`descend` (``t = step * lr`` for sgd); ``on_step(k, theta_k)`` as there.
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
        if on_step is not None:
            on_step(k, m.theta.detach().numpy())
        if k % every == 0 or k == steps:
            ts.append(k * lr if optimizer == "sgd" else float(k))
            out.append(m.theta.detach().numpy().copy())

    train(model, law, param.d, n, steps=steps, batch=dataset_size, lr=lr, optimizer=optimizer, seed=seed,
          online=False, dataset_size=dataset_size, progress=False, callback=record, sampler=sampler)
    return np.array(ts), np.array(out)


__all__ = ["integrate_flow", "flow_crossing", "interpolated_crossing", "IterateCrossing", "descend",
           "train_on_prompts"]
