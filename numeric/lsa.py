"""Linear self-attention models (theory §2, §3, §7).

* :class:`DenseLSA`: ``L`` layers with dense ``P_l, Q_l``,
  ``Z_{l+1} = Z_l + (1/n) P_l Z_l M Z_l^T Q_l Z_l`` (theory §2), ``M = diag(1,...,1,0)``,
  prediction ``yhat = [Z_L]_{d+1, n+1}``.
* :class:`SparseLSA`: the one-layer parameterisation ``yhat = b^T G A x_q`` (theory §2).
* :class:`StructuredLSA`: Theorem 4.1's layers (theory §7), ``P_l`` zero but its last row
  ``(bx_l, by_l)`` and ``Q_l = -[[Abar_l, 0], [a_l^T, 0]]``.
* :class:`ParamLSA`: one layer in the free parameters ``theta`` of a
  :class:`~markov_icl.symbolic.param.Parameterization` (e.g. Ahn et al.'s ``Transformer_F``,
  ``preset("ahn", d)``), ``yhat = b(theta)^T G A(theta) x_q`` with the read-out sign in ``b``.
* :func:`one_layer_params` reads ``(b, A)`` off a one-layer model; with
  :func:`markov_icl.symbolic.model.phi` (re-exported here) ``yhat = <phi(b, A), x_q (kron) g>``.

The layer update, the structured matrices and phi are written once, in
:mod:`markov_icl.symbolic.model` and :mod:`markov_icl.symbolic.multilayer`, and run here on
tensors.

Nothing here is binary-specific: multi-state chains (theory §8) go through unchanged, the
states being used as numbers. All inputs are ``Z0`` of shape ``(B, d+1, n+1)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from markov_icl.errors import MarkovICLError, check_int, shown
from markov_icl.limits import check_seed
from markov_icl.numeric.prompts import gram
from markov_icl.symbolic.model import lsa_layer, phi
from markov_icl.symbolic.multilayer import structured_matrices, update_step
from markov_icl.symbolic.objective import check_d


def _generator(seed: int | None) -> torch.Generator:
    g = torch.Generator()
    if seed is not None:
        g.manual_seed(check_seed("seed", check_int("seed", seed, 0)))
    else:
        g.seed()
    return g


def _randn(shape, scale: float, gen: torch.Generator, dtype: torch.dtype) -> nn.Parameter:
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale < 0:
        raise MarkovICLError(f"init_scale must be a finite number >= 0, got {shown(scale)}")
    return nn.Parameter(scale * torch.randn(*shape, generator=gen, dtype=dtype))


def _check_input(Z0: torch.Tensor, d: int) -> int:
    """Validate ``Z0`` and return ``n`` (the number of context columns)."""
    if Z0.dim() != 3 or Z0.shape[1] != d + 1 or Z0.shape[2] < 2:
        raise MarkovICLError(f"expected Z0 of shape (B, {d + 1}, n+1) with n >= 1, got {tuple(Z0.shape)}")
    return Z0.shape[2] - 1


class DenseLSA(nn.Module):
    """``L``-layer linear self-attention with dense ``P_l, Q_l`` (theory §2).

    Args:
        d: chain input length (the matrices are ``(d+1) x (d+1)``).
        layers: number of layers ``L``.
        init_scale: entries start i.i.d. ``N(0, init_scale^2)``.
        seed: seed of the initialisation (``None``: a fresh random one).
        dtype: parameter dtype (float64 by default, to match the exact checks).

    Examples:
        >>> from markov_icl import ChainLaw, sample_prompts
        >>> pb = sample_prompts(ChainLaw.default("1/2"), d=2, n=5, batch=4, seed=0)
        >>> tuple(DenseLSA(2, layers=3, seed=0)(pb.Z0).shape)
        (4,)
    """

    def __init__(self, d: int, layers: int = 1, init_scale: float = 0.2, seed: int | None = None,
                 dtype: torch.dtype = torch.float64):
        super().__init__()
        self.d = check_d(d)
        self.layers = check_int("layers", layers)
        gen = _generator(seed)
        D = d + 1
        self.P = nn.ParameterList([_randn((D, D), init_scale, gen, dtype) for _ in range(layers)])
        self.Q = nn.ParameterList([_randn((D, D), init_scale, gen, dtype) for _ in range(layers)])

    def hidden(self, Z0: torch.Tensor) -> list[torch.Tensor]:
        """``[Z_0, Z_1, ..., Z_L]`` (theory §2)."""
        _check_input(Z0, self.d)
        Zs = [Z0]
        for P, Q in zip(self.P, self.Q):
            Zs.append(lsa_layer(Zs[-1], P, Q))
        return Zs

    def forward(self, Z0: torch.Tensor) -> torch.Tensor:
        """``yhat = [Z_L]_{d+1, n+1}`` (theory §2), shape ``(B,)``."""
        return self.hidden(Z0)[-1][:, self.d, -1]


class SparseLSA(nn.Module):
    """One-layer LSA in its effective parameters (theory §2): ``yhat = b^T G A x_q``.

    ``b`` in ``R^{d+1}`` is the last row of ``P``, ``A`` in ``R^{(d+1) x d}`` the first
    ``d`` columns of ``Q``; ``G = (1/n) sum_{i<=n} z_i z_i^T``.

    Examples:
        >>> import torch
        >>> from markov_icl import ChainLaw, phi, sample_prompts
        >>> from markov_icl.numeric.prompts import enlarged_features
        >>> pb = sample_prompts(ChainLaw.default("1/2"), d=1, n=5, batch=4, seed=0)
        >>> m = SparseLSA(1, seed=0)
        >>> torch.allclose(m(pb.Z0), enlarged_features(pb.Z0) @ phi(m.b, m.A))   # yhat = <phi(b, A), x_q kron g>
        True
    """

    def __init__(self, d: int, init_scale: float = 0.2, seed: int | None = None,
                 dtype: torch.dtype = torch.float64):
        super().__init__()
        self.d = check_d(d)
        gen = _generator(seed)
        self.b = _randn((d + 1,), init_scale, gen, dtype)
        self.A = _randn((d + 1, d), init_scale, gen, dtype)

    def forward(self, Z0: torch.Tensor) -> torch.Tensor:
        """``yhat = b^T G A x_q`` (theory §2), shape ``(B,)``."""
        _check_input(Z0, self.d)
        return torch.einsum("i,bij,jk,bk->b", self.b, gram(Z0), self.A, Z0[:, : self.d, -1])


class StructuredLSA(nn.Module):
    """Theorem 4.1's structured multilayer LSA (theory §7).

    Layer ``l`` has ``P_l`` zero except its last row ``b_l^T = (bx_l^T, by_l)`` and
    ``Q_l = -[[Abar_l, 0], [a_l^T, 0]]``. Only the last row of ``Z`` changes, and

        y_i^(l+1) = y_i^(l) + <u_l, x_i>,
        u_l = -(1/n) sum_k (Abar_l^T x_k + a_l r_k)(bx_l^T x_k + by_l r_k),  r_k = y_k^(l),

    so ``yhat_l = <theta_l, x_q>`` with ``theta_0 = 0``, ``theta_{l+1} = theta_l + u_l``.
    :meth:`forward` runs the dense update of theory §2 on the assembled ``P_l, Q_l``;
    :meth:`thetas` runs the recursion.

    Parameters: ``bx (L, d)``, ``by (L,)``, ``Abar (L, d, d)``, ``a (L, d)``.

    Examples:
        >>> import torch
        >>> from markov_icl import ChainLaw, sample_prompts
        >>> pb = sample_prompts(ChainLaw.default("1/2"), d=2, n=5, batch=4, seed=0)
        >>> m = StructuredLSA(2, layers=3, seed=0)
        >>> theta_L = m.thetas(pb.Z0)[:, -1]                  # the recursion predicts <theta_L, x_q>
        >>> torch.allclose(m(pb.Z0), (theta_L * pb.Z0[:, :2, -1]).sum(-1))
        True
    """

    def __init__(self, d: int, layers: int = 1, init_scale: float = 0.2, seed: int | None = None,
                 dtype: torch.dtype = torch.float64):
        super().__init__()
        self.d = check_d(d)
        self.layers = check_int("layers", layers)
        gen = _generator(seed)
        L = layers
        self.bx = _randn((L, d), init_scale, gen, dtype)
        self.by = _randn((L,), init_scale, gen, dtype)
        self.Abar = _randn((L, d, d), init_scale, gen, dtype)
        self.a = _randn((L, d), init_scale, gen, dtype)

    def matrices(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """The dense ``(P_l, Q_l)`` of each layer (theory §7)."""
        Ps, Qs = [], []
        for l in range(self.layers):
            P, Q = structured_matrices(self.bx[l], self.by[l], self.Abar[l], self.a[l],
                                       lambda shape: torch.zeros(shape, dtype=self.by.dtype, device=self.by.device))
            Ps.append(P)
            Qs.append(Q)
        return Ps, Qs

    def forward(self, Z0: torch.Tensor) -> torch.Tensor:
        """``yhat = [Z_L]_{d+1, n+1}`` with the structured ``P_l, Q_l`` (theory §2, §7)."""
        _check_input(Z0, self.d)
        Z = Z0
        for P, Q in zip(*self.matrices()):
            Z = lsa_layer(Z, P, Q)
        return Z[:, self.d, -1]

    def thetas(self, Z0: torch.Tensor) -> torch.Tensor:
        """``theta_0..theta_L`` of the theory §7 recursion, shape ``(B, L+1, d)``.

        ``theta_0 = 0``; ``theta_{l+1} = theta_l + u_l`` with
        ``u_l = -(1/n) sum_k (Abar_l^T x_k + a_l r_k)(bx_l^T x_k + by_l r_k)`` and the
        residuals ``r_k = y_k + <theta_l, x_k>``. Then ``yhat = <theta_L, x_q>``.
        """
        n = _check_input(Z0, self.d)
        X = Z0[:, : self.d, :n]  # (B, d, n) context inputs x_k
        y = Z0[:, self.d, :n]  # (B, n) labels y_k
        theta = torch.zeros(Z0.shape[0], self.d, dtype=Z0.dtype, device=Z0.device)
        out = [theta]
        for l in range(self.layers):
            r = y + torch.einsum("bj,bjk->bk", theta, X)  # r_k = y_k^(l)
            theta = theta + update_step(self.Abar[l], self.a[l], self.bx[l], self.by[l], X, r, n)
            out.append(theta)
        return torch.stack(out, 1)


class ParamLSA(nn.Module):
    """One-layer LSA in the free parameters of a :class:`~markov_icl.symbolic.param.Parameterization`.

    The parameterization fixes which entries of ``(P, Q)`` are free, fixed or tied and the
    read-out sign; its ``b`` (``sign * P[d+1, :]``) and ``A`` (``Q[:, :d]``) are exact SymPy
    expressions in ``param.params``, turned once into a torch function of ``theta`` with
    ``sympy.lambdify``. Then ``yhat = b(theta)^T G A(theta) x_q`` (theory §2), the form of
    :class:`SparseLSA`, and ``phi(*b_and_A())`` is the point of the enlarged space (theory §3).

    Args:
        param: the parameterization (e.g. ``markov_icl.preset("ahn", d)``).
        init_scale: the entries of ``theta`` start i.i.d. ``N(0, init_scale^2)``.
        seed: seed of the initialisation (``None``: a fresh random one).
        dtype: parameter dtype (float64 by default, to match the exact checks).

    The only parameter is ``theta`` (shape ``(len(param.params),)``, in the order of
    ``param.params``), so ``state_dict()`` is ``{"theta": ...}``.

    Examples:
        >>> import torch
        >>> from markov_icl import ChainLaw, phi, sample_prompts
        >>> from markov_icl.numeric.prompts import enlarged_features
        >>> from markov_icl.symbolic.param import preset
        >>> m = ParamLSA(preset("gd", 2), seed=0)
        >>> with torch.no_grad():
        ...     _ = m.theta.fill_(0.5)
        >>> b, A = m.b_and_A()                       # b = e_3, A = eta [I; 0]
        >>> b.tolist(), A.tolist()
        ([0.0, 0.0, 1.0], [[0.5, 0.0], [0.0, 0.5], [0.0, 0.0]])
        >>> pb = sample_prompts(ChainLaw.default("1/2"), d=2, n=5, batch=4, seed=0)
        >>> torch.allclose(m(pb.Z0), enlarged_features(pb.Z0) @ phi(b, A))
        True
    """

    def __init__(self, param, init_scale: float = 0.2, seed: int | None = None, dtype: torch.dtype = torch.float64):
        super().__init__()
        import sympy as sp

        from markov_icl.symbolic.param import Parameterization

        if not isinstance(param, Parameterization):
            raise MarkovICLError(f"ParamLSA needs a markov_icl.Parameterization (e.g. preset('ahn', d)), got "
                                 f"{type(param).__name__}")
        self.param = param
        self.d = check_d(param.d)
        gen = _generator(seed)
        self.theta = _randn((len(param.params),), init_scale, gen, dtype)
        entries = list(param.b) + [x for row in param.A for x in row]
        self._entries = sp.lambdify(param.params, entries, modules="torch")

    def b_and_A(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(b, A)`` at the current ``theta``, differentiable: ``b = sign * P[d+1, :]`` ``(d+1,)``, ``A = Q[:, :d]``
        ``(d+1, d)``."""
        theta = self.theta
        vals = self._entries(*theta.unbind(0)) if theta.numel() else self._entries()
        flat = torch.stack([v.to(theta.dtype) if torch.is_tensor(v) else theta.new_tensor(float(v)) for v in vals])
        D = self.d + 1
        return flat[:D], flat[D:].reshape(D, self.d)

    def forward(self, Z0: torch.Tensor) -> torch.Tensor:
        """``yhat = b^T G A x_q`` (theory §2) with ``(b, A) = b_and_A()``, shape ``(B,)``."""
        _check_input(Z0, self.d)
        b, A = self.b_and_A()
        return torch.einsum("i,bij,jk,bk->b", b, gram(Z0), A, Z0[:, : self.d, -1])

    def extra_repr(self) -> str:
        return f"param={self.param.name!r}, d={self.d}, params={len(self.param.params)}"


class Negated(nn.Module):
    """``yhat = -model(Z0)``: the readout ``-[Z_L]_{d+1,n+1}`` (with ``w = -theta`` the structured
    model then predicts ``<w_L, x_q>``, Theorem 4.1's reading; theory §10)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, Z0: torch.Tensor) -> torch.Tensor:
        return -self.model(Z0)


def one_layer_params(model: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """``(b, A)`` of a one-layer model (theory §2): the last row of ``P`` and the first ``d``
    columns of ``Q`` for a one-layer :class:`DenseLSA`; the parameters of a :class:`SparseLSA`;
    :meth:`ParamLSA.b_and_A` (the read-out sign folded into ``b``) for a :class:`ParamLSA`.

    Raises:
        MarkovICLError: for any other model (e.g. a DenseLSA with more than one layer).

    Examples:
        >>> b, A = one_layer_params(DenseLSA(2, seed=0))
        >>> tuple(b.shape), tuple(A.shape)
        ((3,), (3, 2))
    """
    if isinstance(model, SparseLSA):
        return model.b.detach().clone(), model.A.detach().clone()
    if isinstance(model, ParamLSA):
        with torch.no_grad():
            b, A = model.b_and_A()
        return b.detach().clone(), A.detach().clone()
    if isinstance(model, DenseLSA) and model.layers == 1:
        d = model.d
        return model.P[0][d, :].detach().clone(), model.Q[0][:, :d].detach().clone()
    raise MarkovICLError(f"one_layer_params needs a SparseLSA, a ParamLSA or a one-layer DenseLSA, got {type(model).__name__}"
                         + (f" with {model.layers} layers" if isinstance(model, DenseLSA) else ""))


__all__ = ["lsa_layer", "DenseLSA", "SparseLSA", "StructuredLSA", "ParamLSA", "Negated", "phi", "one_layer_params"]
