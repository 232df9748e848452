"""Linear self-attention models (SPEC §2, §3, §7).

* :class:`DenseLSA`: ``L`` layers with dense ``P_l, Q_l``,
  ``Z_{l+1} = Z_l + (1/n) P_l Z_l M Z_l^T Q_l Z_l`` (SPEC §2), ``M = diag(1,...,1,0)``,
  prediction ``yhat = [Z_L]_{d+1, n+1}``.
* :class:`SparseLSA`: the one-layer parameterisation ``yhat = b^T G A x_q`` (SPEC §2).
* :class:`StructuredLSA`: Theorem 4.1's layers (SPEC §7), ``P_l`` zero but its last row
  ``(bx_l, by_l)`` and ``Q_l = -[[Abar_l, 0], [a_l^T, 0]]``.
* :func:`phi`: the reparameterisation ``X = phi(b, A)`` of SPEC §3, so that
  ``yhat = <phi(b, A), x_q (kron) g>``; :func:`one_layer_params` reads ``(b, A)`` off a
  one-layer model.

Nothing here is binary-specific: multi-state chains (SPEC §8) go through unchanged, the
states being used as numbers. All inputs are ``Z0`` of shape ``(B, d+1, n+1)``.
"""

from __future__ import annotations

import torch
from torch import nn

from numeric.prompts import gram
from symbolic.errors import MarkovICLError, check_int
from symbolic.objective import check_d


def _generator(seed: int | None) -> torch.Generator:
    g = torch.Generator()
    if seed is not None:
        g.manual_seed(seed)
    else:
        g.seed()
    return g


def _randn(shape, scale: float, gen: torch.Generator, dtype: torch.dtype) -> nn.Parameter:
    return nn.Parameter(scale * torch.randn(*shape, generator=gen, dtype=dtype))


def _check_input(Z0: torch.Tensor, d: int) -> int:
    """Validate ``Z0`` and return ``n`` (the number of context columns)."""
    if Z0.dim() != 3 or Z0.shape[1] != d + 1 or Z0.shape[2] < 2:
        raise MarkovICLError(f"expected Z0 of shape (B, {d + 1}, n+1) with n >= 1, got {tuple(Z0.shape)}")
    return Z0.shape[2] - 1


def lsa_layer(Z: torch.Tensor, P: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
    """One LSA layer (SPEC §2): ``Z + (1/n) P Z M Z^T Q Z``, ``M = diag(1,...,1,0)``."""
    n = Z.shape[-1] - 1
    ZM = Z[..., :n]  # Z M drops the query column
    ZMZt = torch.einsum("bik,bjk->bij", ZM, ZM)  # Z M Z^T  (B, d+1, d+1)
    return Z + torch.einsum("ij,bjk,kl,blm->bim", P, ZMZt, Q, Z) / n


class DenseLSA(nn.Module):
    """``L``-layer linear self-attention with dense ``P_l, Q_l`` (SPEC §2).

    Args:
        d: chain input length (the matrices are ``(d+1) x (d+1)``).
        layers: number of layers ``L``.
        init_scale: entries start i.i.d. ``N(0, init_scale^2)``.
        seed: seed of the initialisation (``None``: a fresh random one).
        dtype: parameter dtype (float64 by default, to match the exact checks).
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
        """``[Z_0, Z_1, ..., Z_L]`` (SPEC §2)."""
        _check_input(Z0, self.d)
        Zs = [Z0]
        for P, Q in zip(self.P, self.Q):
            Zs.append(lsa_layer(Zs[-1], P, Q))
        return Zs

    def forward(self, Z0: torch.Tensor) -> torch.Tensor:
        """``yhat = [Z_L]_{d+1, n+1}`` (SPEC §2), shape ``(B,)``."""
        return self.hidden(Z0)[-1][:, self.d, -1]


class SparseLSA(nn.Module):
    """One-layer LSA in its effective parameters (SPEC §2): ``yhat = b^T G A x_q``.

    ``b`` in ``R^{d+1}`` is the last row of ``P``, ``A`` in ``R^{(d+1) x d}`` the first
    ``d`` columns of ``Q``; ``G = (1/n) sum_{i<=n} z_i z_i^T``.
    """

    def __init__(self, d: int, init_scale: float = 0.2, seed: int | None = None,
                 dtype: torch.dtype = torch.float64):
        super().__init__()
        self.d = check_d(d)
        gen = _generator(seed)
        self.b = _randn((d + 1,), init_scale, gen, dtype)
        self.A = _randn((d + 1, d), init_scale, gen, dtype)

    def forward(self, Z0: torch.Tensor) -> torch.Tensor:
        """``yhat = b^T G A x_q`` (SPEC §2), shape ``(B,)``."""
        _check_input(Z0, self.d)
        return torch.einsum("i,bij,jk,bk->b", self.b, gram(Z0), self.A, Z0[:, : self.d, -1])


class StructuredLSA(nn.Module):
    """Theorem 4.1's structured multilayer LSA (SPEC §7).

    Layer ``l`` has ``P_l`` zero except its last row ``b_l^T = (bx_l^T, by_l)`` and
    ``Q_l = -[[Abar_l, 0], [a_l^T, 0]]``. Only the last row of ``Z`` changes, and

        y_i^(l+1) = y_i^(l) + <u_l, x_i>,
        u_l = -(1/n) sum_k (Abar_l^T x_k + a_l r_k)(bx_l^T x_k + by_l r_k),  r_k = y_k^(l),

    so ``yhat_l = <theta_l, x_q>`` with ``theta_0 = 0``, ``theta_{l+1} = theta_l + u_l``.
    :meth:`forward` runs the dense update of SPEC §2 on the assembled ``P_l, Q_l``;
    :meth:`thetas` runs the recursion.

    Parameters: ``bx (L, d)``, ``by (L,)``, ``Abar (L, d, d)``, ``a (L, d)``.
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
        """The dense ``(P_l, Q_l)`` of each layer (SPEC §7)."""
        d, D = self.d, self.d + 1
        Ps, Qs = [], []
        for l in range(self.layers):
            last = torch.cat([self.bx[l], self.by[l : l + 1]]).unsqueeze(0)
            P = torch.cat([torch.zeros(d, D, dtype=last.dtype, device=last.device), last], 0)
            top = torch.cat([self.Abar[l], torch.zeros(d, 1, dtype=P.dtype, device=P.device)], 1)
            bottom = torch.cat([self.a[l], torch.zeros(1, dtype=P.dtype, device=P.device)]).unsqueeze(0)
            Ps.append(P)
            Qs.append(-torch.cat([top, bottom], 0))
        return Ps, Qs

    def forward(self, Z0: torch.Tensor) -> torch.Tensor:
        """``yhat = [Z_L]_{d+1, n+1}`` with the structured ``P_l, Q_l`` (SPEC §2, §7)."""
        _check_input(Z0, self.d)
        Z = Z0
        for P, Q in zip(*self.matrices()):
            Z = lsa_layer(Z, P, Q)
        return Z[:, self.d, -1]

    def thetas(self, Z0: torch.Tensor) -> torch.Tensor:
        """``theta_0..theta_L`` of the SPEC §7 recursion, shape ``(B, L+1, d)``.

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
            left = torch.einsum("ij,bik->bjk", self.Abar[l], X) + self.a[l][None, :, None] * r[:, None, :]
            right = torch.einsum("i,bik->bk", self.bx[l], X) + self.by[l] * r
            theta = theta - torch.einsum("bjk,bk->bj", left, right) / n
            out.append(theta)
        return torch.stack(out, 1)


def phi(b: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """The reparameterisation ``X = phi(b, A)`` of SPEC §3, shape ``(d m,)``.

    ``X^(j)_(u,u) = b_u A_{u,j}``, ``X^(j)_(u,v) = b_u A_{v,j} + b_v A_{u,j}`` (u < v), in
    the order ``r = (j-1) m + pos(u,v)`` with ``(u, v)`` row-major. Differentiable.
    """
    b = torch.as_tensor(b)
    A = torch.as_tensor(A, dtype=b.dtype)
    D = b.shape[0]
    if A.dim() != 2 or A.shape[0] != D:
        raise MarkovICLError(f"phi: expected b of shape (d+1,) and A of shape (d+1, d), got {tuple(b.shape)}, {tuple(A.shape)}")
    T = torch.einsum("u,vj->juv", b, A)  # T[j, u, v] = b_u A_{v,j}
    S = T + T.transpose(1, 2)  # b_u A_{v,j} + b_v A_{u,j}; twice b_u A_{u,j} on the diagonal
    S = S - torch.diag_embed(torch.diagonal(T, dim1=1, dim2=2))
    iu, iv = torch.triu_indices(D, D, device=b.device)
    return S[:, iu, iv].reshape(-1)


def one_layer_params(model: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """``(b, A)`` of a one-layer model (SPEC §2): the last row of ``P`` and the first ``d``
    columns of ``Q`` for a one-layer :class:`DenseLSA`; the parameters of a :class:`SparseLSA`.

    Raises:
        MarkovICLError: for any other model (e.g. a DenseLSA with more than one layer).
    """
    if isinstance(model, SparseLSA):
        return model.b.detach().clone(), model.A.detach().clone()
    if isinstance(model, DenseLSA) and model.layers == 1:
        d = model.d
        return model.P[0][d, :].detach().clone(), model.Q[0][:, :d].detach().clone()
    raise MarkovICLError(f"one_layer_params needs a SparseLSA or a one-layer DenseLSA, got {type(model).__name__}"
                         + (f" with {model.layers} layers" if isinstance(model, DenseLSA) else ""))


__all__ = ["lsa_layer", "DenseLSA", "SparseLSA", "StructuredLSA", "phi", "one_layer_params"]
