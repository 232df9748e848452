"""The exact population loss of a user's one-layer model (what ``markov-icl evaluate`` prints).

:func:`loss_of` takes a model (a one-layer :class:`~markov_icl.numeric.lsa.DenseLSA`, a
:class:`~markov_icl.numeric.lsa.SparseLSA`, a ``ParamLSA``), a dense ``(P, Q)`` pair with a
read-out sign, or ``(b, A)``, maps it to the enlarged space ``X = phi(sign * b, A)`` (theory
§3) and evaluates ``f~(X) = E[y^2] - 2 beta^T X + X^T H X`` exactly: every float weight is
taken at its exact binary value, so the result is the population loss of exactly those
weights, with no sampling. The data law is a chain law (:class:`~markov_icl.symbolic.laws.ChainLaw`,
numeric p) or any law with ``objective(d, n) -> (H, beta, E[y^2])`` (docs/python.md, "Data laws").

Files (:func:`load_params`), read without running code (``torch.load(weights_only=True)``,
``numpy.load(allow_pickle=False)``):

* ``.pt``: a ``state_dict`` of ``DenseLSA`` (keys ``P.0``, ``Q.0``; one layer), of
  ``SparseLSA`` (``b``, ``A``), of ``ParamLSA`` (``theta``, with ``param=``), or a dict with
  tensors ``P`` and ``Q`` (``(d+1) x (d+1)``, our column layout: ``Z_1 = Z_0 + (1/n) P Z_0 M Z_0^T Q Z_0``);
* ``.npz``: arrays ``P`` and ``Q``, or ``b`` and ``A``, or ``theta`` (with ``param=``).

Examples:
    >>> from markov_icl import ChainLaw, SparseLSA
    >>> m = SparseLSA(1, seed=0)
    >>> res = loss_of(m, ChainLaw.default("1/2"), d=1, n=5)
    >>> res.f_tilde > 0, abs(float(res.f_tilde) - res.f_tilde_float) < 1e-15
    (True, True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import sympy as sp

from markov_icl.errors import MarkovICLError

FORMATS = (".pt", ".npz")


@dataclass
class ModelLoss:
    """The exact population loss of one model.

    Attributes:
        b, A: the effective parameters (floats; the read-out sign folded into b).
        X: ``phi(b, A)`` as floats.
        f_tilde: the exact loss ``f~(X)`` (a SymPy rational) and ``f_tilde_float`` its float.
        f_tilde_star: the enlarged-space optimum of the same objective (exact).
    """

    b: np.ndarray
    A: np.ndarray
    X: np.ndarray
    f_tilde: sp.Rational
    f_tilde_float: float
    f_tilde_star: sp.Expr | None


def objective_of(law, d: int, n):
    """``(H, beta, E[y^2])`` of a data law at ``(d, n)``: exact SymPy matrices (``beta`` a column) and a number.

    A law with an ``objective(d, n)`` method (e.g. the Gaussian regression family) is asked
    for it; a :class:`~markov_icl.symbolic.laws.ChainLaw` goes through the chain moments
    (:class:`~markov_icl.symbolic.objective.ObjectiveTerms`).
    """
    if hasattr(law, "objective"):
        return law.objective(d, n)
    from markov_icl.symbolic.laws import ChainLaw
    from markov_icl.symbolic.objective import ObjectiveTerms

    if not isinstance(law, ChainLaw):
        raise MarkovICLError(f"expected a data law (a ChainLaw, or an object with objective(d, n)), got "
                             f"{type(law).__name__}")
    H, beta, ey2 = ObjectiveTerms(d, law).numeric(n=n)
    return H.to_Matrix(), beta.to_Matrix(), sp.QQ.to_sympy(ey2)


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    a = np.asarray(x, dtype=np.float64)
    if not np.isfinite(a).all():
        raise MarkovICLError("the model's parameters are not all finite (NaN or infinity)")
    return a


def effective_params(model_or_params, sign: int = 1, param=None) -> tuple[np.ndarray, np.ndarray]:
    """``(sign * b, A)`` as float64 arrays from a model, a ``(P, Q)`` / ``(b, A)`` pair, a dict of them, or
    ``theta`` of a parameterization (``param``)."""
    from markov_icl.symbolic.param import Parameterization, exact_number, preset

    obj = model_or_params
    if hasattr(obj, "state_dict") and hasattr(obj, "forward"):  # a torch module
        from markov_icl.numeric.lsa import one_layer_params

        tb, tA = one_layer_params(obj)
        return sign * _to_numpy(tb), _to_numpy(tA)
    if isinstance(obj, dict):
        keys = set(obj)
        if {"P.0", "Q.0"} <= keys:
            if any(k.startswith(("P.1", "Q.1")) for k in keys):
                raise MarkovICLError("the state_dict has more than one layer; evaluate takes one-layer models")
            obj = (obj["P.0"], obj["Q.0"])
        elif {"P", "Q"} <= keys:
            obj = (obj["P"], obj["Q"])
        elif {"b", "A"} <= keys:
            b, A = _to_numpy(obj["b"]), _to_numpy(obj["A"])
            return sign * b, A
        elif "theta" in keys:
            if param is None:
                raise MarkovICLError("the file holds theta: name its parameterization (--param NAME)")
            p = param if isinstance(param, Parameterization) else None
            theta = _to_numpy(obj["theta"]).reshape(-1)
            if p is None:
                d = _d_of_theta(param, theta.size)
                p = preset(param, d)
            vals = dict(zip(p.params, map(exact_number, theta)))
            if len(vals) != theta.size:
                raise MarkovICLError(f"theta has {theta.size} entries; {p.name!r} at d = {p.d} has {len(p.params)}")
            b = np.array([float(sp.sympify(x).xreplace(vals)) for x in p.b])
            A = np.array([[float(sp.sympify(x).xreplace(vals)) for x in row] for row in p.A])
            return sign * b, A
        else:
            raise MarkovICLError(f"unrecognised parameters {sorted(keys)[:6]}; expected P.0/Q.0 (DenseLSA), b/A "
                                 "(SparseLSA), P/Q (a dense pair) or theta (with --param)")
    if isinstance(obj, (tuple, list)) and len(obj) == 2:
        X, Y = _to_numpy(obj[0]), _to_numpy(obj[1])
        if X.ndim == 2 and Y.ndim == 2 and X.shape == Y.shape and X.shape[0] == X.shape[1]:  # (P, Q)
            d = X.shape[0] - 1
            return sign * X[d, :], Y[:, :d]
        if X.ndim == 1 and Y.ndim == 2:  # (b, A)
            return sign * X, Y
        raise MarkovICLError(f"expected (P, Q) of shape (d+1, d+1) each or (b, A) of shapes (d+1,), (d+1, d); got "
                             f"{X.shape} and {Y.shape}")
    raise MarkovICLError(f"cannot read one-layer parameters from a {type(obj).__name__}")


def _d_of_theta(name: str, k: int) -> int:
    from markov_icl.symbolic.param import preset

    for d in range(1, 65):
        if len(preset(name, d).params) == k:
            return d
    raise MarkovICLError(f"theta has {k} entries, which matches {name!r} at no d <= 64")


def loss_of(model_or_params, law, d: int | None = None, n=None, sign: int = 1, param=None) -> ModelLoss:
    """The exact population loss ``f~(phi(sign * b, A))`` of a one-layer model under ``law`` at ``n`` (module docstring).

    Args:
        model_or_params: a model, a ``(P, Q)`` or ``(b, A)`` pair, or a dict of them (a state_dict).
        law: a ChainLaw with numeric p, or a law with ``objective(d, n)``.
        d: checked against the parameters' shapes (taken from them when None).
        n: the number of context chains (an integer).
        sign: the read-out sign (``-1`` for models read as minus the label entry, e.g. Ahn et al.).
        param: the parameterization of a ``theta`` (a preset name or a Parameterization).

    Raises:
        MarkovICLError: bad shapes, non-finite weights, a d that does not match, a symbolic law.

    Examples:
        >>> import numpy as np
        >>> P, Q = np.zeros((2, 2)), np.zeros((2, 2))
        >>> P[1, 1], Q[0, 0] = 1.0, 10 / 7                    # zfb's optimum at p = 1/2, n = 5 (W11 = 10/7)
        >>> from markov_icl import ChainLaw
        >>> res = loss_of((P, Q), ChainLaw.default("1/2"), d=1, n=5)
        >>> round(res.f_tilde_float, 12), float(res.f_tilde - sp.Rational(8, 21)) < 1e-15
        (0.380952380952, True)
    """
    from markov_icl.symbolic.model import phi
    from markov_icl.symbolic.objective import f_tilde
    from markov_icl.symbolic.param import exact_number

    if sign not in (1, -1):
        raise MarkovICLError(f"the read-out sign must be 1 or -1, got {sign}")
    if n is None:
        raise MarkovICLError("loss_of needs n, the number of context chains")
    b, A = effective_params(model_or_params, sign, param)
    dd = b.shape[0] - 1
    if A.shape != (dd + 1, dd) or dd < 1:
        raise MarkovICLError(f"b has shape {b.shape} and A {A.shape}; expected (d+1,) and (d+1, d)")
    if d is not None and d != dd:
        raise MarkovICLError(f"the parameters are for d = {dd}, not d = {d}")
    H, beta, ey2 = objective_of(law, dd, n)
    if not all(x.is_Rational for x in (*H, *beta)):
        raise MarkovICLError("the law has free symbols: give every parameter a number")
    X = phi([exact_number(x) for x in b], [[exact_number(x) for x in row] for row in A])
    f = f_tilde(X, H, list(beta), ey2)
    fstar = _f_tilde_star(H, beta, ey2)
    return ModelLoss(b, A, np.array([float(x) for x in X]), f, float(f), fstar)


def _f_tilde_star(H, beta, ey2):
    """``f~* = E[y^2] - beta^T H^{-1} beta`` (exact; None when H is singular)."""
    from markov_icl.symbolic.param import _exact_f_tilde_star

    try:
        return _exact_f_tilde_star(H, beta, ey2)
    except MarkovICLError:
        return None


def load_params(path: str) -> dict:
    """The arrays of a ``.pt`` or ``.npz`` file (module docstring), without running code from it.

    Raises:
        MarkovICLError: a missing file, another extension, or content that is not a dict of arrays.
    """
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        raise MarkovICLError(f"{path}: expected a .pt (torch state_dict) or .npz file, got {ext or 'no extension'!r}")
    if not os.path.isfile(path):
        raise MarkovICLError(f"{path}: no such file")
    try:
        if ext == ".npz":
            with np.load(path, allow_pickle=False) as z:
                return {k: np.array(z[k]) for k in z.files}
        import torch

        obj = torch.load(path, map_location="cpu", weights_only=True)
    except MarkovICLError:
        raise
    except Exception as e:  # a corrupt file, or one holding objects (refused by weights_only)
        raise MarkovICLError(f"{path}: cannot read it as {ext} ({type(e).__name__}: {str(e).splitlines()[0][:120]})") \
            from None
    if not isinstance(obj, dict) or not all(hasattr(v, "shape") for v in obj.values()):
        raise MarkovICLError(f"{path}: expected a dict of tensors (a state_dict), got {type(obj).__name__}")
    return dict(obj)


__all__ = ["ModelLoss", "loss_of", "load_params", "effective_params", "objective_of", "FORMATS"]
