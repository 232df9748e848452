"""The normalized-GD transformer in PyTorch, a direct NGD written independently, and their accuracy vs depth (theory §15).

* :func:`ngd_iterates`: normalized gradient descent ``w_{l+1} = w_l - eta_l grad L(w_l) / L(w_l)`` on the
  exponential loss ``L(w) = sum_i c_i exp(-u_i^T w) / sum_i c_i`` (weights ``c_i``: chain-type counts), in
  NumPy, from the loss and its gradient (no softmax), vectorised over a batch of contexts;
* :class:`NGDTransformer`: the softmax transformer of :class:`~markov_icl.symbolic.ngd.NGDConstruction`
  (its exact weights rounded once to float64), a generic attention forward pass over tokens;
* :func:`ngd_depth_table`: accuracy and losses of the construction at depths ``0..L`` as sums over the
  (query input, context type counts) pairs of :class:`~markov_icl.symbolic.softmax.SoftmaxLoss` with
  its exact rational weights (accuracy exact given the float64 signs), beside scikit-learn's logistic
  regression on the same pairs, the Bayes floor, the exact fraction of separable contexts and the
  convergence towards the max-margin direction;
* :func:`ngd_depth_table_mc`: the same quantities by Monte Carlo, with standard errors, beyond exact sizes;
* :func:`train_looped`: one free softmax layer trained to reproduce one NGD step, then looped.

Examples:
    >>> import numpy as np
    >>> U = np.array([[1.0, 1.0], [1.0, -1.0]])
    >>> ngd_iterates(U, 1.0, 2)[:, 0].round(6).tolist()           # w_l of the first coordinate, l = 0, 1, 2
    [0.0, 1.0, 2.0]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from markov_icl.errors import MarkovICLError, check_int
from markov_icl.progress import wrapped


def ngd_iterates(U, eta, layers: int, counts=None, w0=None) -> np.ndarray:
    """NGD iterates on the exponential loss of the contexts ``U`` (``(..., m, k)`` signed features).

    Args:
        U: signed features ``u_i = y~_i psi(x_i)``, shape ``(m, k)`` or ``(B, m, k)``.
        eta: a step size or one per layer.
        layers: the number of steps L.
        counts: weights ``c_i >= 0`` of the rows (``(m,)`` or ``(B, m)``; default 1): a context holding
            ``c_i`` copies of ``u_i``.
        w0: the start (default 0).

    Returns:
        ``(..., L + 1, k)``: ``w_0, ..., w_L``.

    The loss is evaluated as ``L(w) = e^(-mu) sum_i c_i e^(-(m_i - mu)) / sum_i c_i`` and its gradient with the
    same factor ``e^(-mu)`` (``mu`` the least margin of a present row), which cancels in the ratio.

    Examples:
        >>> ngd_iterates([[1.0, 0.0], [0.0, 1.0]], 0.5, 1).tolist()     # one step from 0: eta * mean(u)
        [[0.0, 0.0], [0.25, 0.25]]
    """
    layers = check_int("layers", layers, 0)
    U = np.asarray(U, dtype=np.float64)
    if U.ndim < 2:
        raise MarkovICLError("U must have shape (m, k) or (B, m, k)")
    c = np.ones(U.shape[:-1]) if counts is None else np.broadcast_to(np.asarray(counts, np.float64), U.shape[:-1])
    etas = np.broadcast_to(np.asarray(eta, dtype=np.float64), (layers,)) if layers else np.zeros(0)
    w = np.zeros(U.shape[:-2] + U.shape[-1:]) if w0 is None else np.array(w0, dtype=np.float64)
    present = c > 0
    out = [w.copy()]
    for step in range(layers):
        m = np.einsum("...ik,...k->...i", U, w)
        mu = np.where(present, m, np.inf).min(-1, keepdims=True)
        e = np.where(present, c * np.exp(-(m - mu)), 0.0)
        loss = e.sum(-1) / c.sum(-1)                                     # L(w) e^(mu)
        grad = -np.einsum("...i,...ik->...k", e, U) / c.sum(-1)[..., None]  # grad L(w) e^(mu)
        w = w - etas[step] * grad / loss[..., None]
        out.append(w.copy())
    return np.stack(out, -2)


def prompt_features(Z0, bias: bool = True):
    """Signed features ``U (B, n, k)`` and query features ``psi(x_q) (B, k)`` of binary prompts ``Z0 (B, d+1, n+1)``."""
    import torch

    Z = torch.as_tensor(Z0, dtype=torch.float64)
    d = Z.shape[1] - 1
    X = 2 * Z[:, :d, :] - 1                                   # (B, d, n+1)
    if bias:
        X = torch.cat([X, torch.ones_like(X[:, :1])], 1)
    ysign = 2 * Z[:, d, :-1] - 1                              # (B, n)
    U = (X[:, :, :-1] * ysign[:, None, :]).transpose(1, 2)    # (B, n, k)
    return U, X[:, :, -1]


#: the most attention weights ``(n + 1) n`` of one prompt in the torch model (float64: 160 MB)
MAX_ATTENTION_ENTRIES = 2 * 10**7


def batch_chunk(n: int, layers: int, width: int, budget: int = 2 * 10**7) -> int:
    """Prompts per forward pass so that the attention weights ``(n + 1) n`` and every layer's tokens
    ``(L + 1)(n + 1) 3k`` of one pass stay within ``budget`` floats.

    Examples:
        >>> batch_chunk(10, 3, 6), batch_chunk(3000, 3, 6)
        (53475, 2)
    """
    per = (n + 1) * n + (layers + 1) * (n + 1) * width
    return max(1, int(budget // per))


def _torch_module():
    import torch
    from torch import nn

    class _NGDTransformer(nn.Module):
        """See :class:`NGDTransformer`."""

        W_KQ: torch.Tensor
        W_OV: torch.Tensor
        R: torch.Tensor

        def __init__(self, construction, dtype=torch.float64):
            super().__init__()
            from sympy import Symbol

            if any(isinstance(e, Symbol) or getattr(e, "free_symbols", None) for e in construction.eta):
                raise MarkovICLError("the torch model needs numeric step sizes eta")
            self.construction = c = construction
            W = np.array([[float(v) for v in c.W_KQ().row(i)] for i in range(c.width)])
            self.register_buffer("W_KQ", torch.tensor(W, dtype=dtype))
            self.register_buffer("W_OV", torch.stack([torch.tensor(np.array(c.W_OV(l).tolist(), dtype=float), dtype=dtype)
                                                      for l in range(1, c.layers + 1)]))
            self.register_buffer("R", torch.tensor(np.array(c.readout().tolist(), dtype=float), dtype=dtype))

        def tokens(self, Z0):
            """Tokens ``(B, n + 1, 3k)``: the context chains ``(u_i, psi(x_i), 0)``, the query ``(0, psi(x_q), 0)`` last."""
            c = self.construction
            Z = torch.as_tensor(Z0, dtype=self.W_KQ.dtype, device=self.W_KQ.device)
            if Z.ndim != 3 or Z.shape[1] != c.d + 1:
                raise MarkovICLError(f"prompts must have shape (B, d+1, n+1) with d = {c.d}, got {tuple(Z.shape)}")
            U, xq = prompt_features(Z, c.bias)
            d = c.d
            X = 2 * Z[:, :d, :] - 1
            if c.bias:
                X = torch.cat([X, torch.ones_like(X[:, :1])], 1)
            B, T = Z.shape[0], Z.shape[2]
            H = torch.zeros(B, T, c.width, dtype=Z.dtype, device=Z.device)
            H[:, :-1, c.slot("U")] = U.to(Z.dtype)
            H[:, :, c.slot("X")] = X.transpose(1, 2)
            return H

        def layer(self, H, l: int):
            """Layer ``l`` (1-based) on tokens ``H``: every token attends to the ``n`` context tokens."""
            ctx = H[:, :-1]
            scores = torch.einsum("bia,ac,btc->bti", ctx, self.W_KQ, H)      # h_i^T W_KQ h_t
            att = scores.softmax(-1)
            values = torch.einsum("ca,bia->bic", self.W_OV[l - 1], ctx)      # W_OV h_i
            return H + torch.einsum("bti,bic->btc", att, values)

        def forward(self, Z0):
            """The tokens after each layer: ``(B, L + 1, n + 1, 3k)`` (index 0: the embedding)."""
            B, _, T = Z0.shape
            if T * (T - 1) > MAX_ATTENTION_ENTRIES:
                raise MarkovICLError(f"one prompt's attention holds (n+1) n = {T * (T - 1):.2g} weights; at most "
                                     f"{MAX_ATTENTION_ENTRIES:.0e}: lower n")
            H = self.tokens(Z0)
            out = [H]
            for l in range(1, self.construction.layers + 1):
                H = self.layer(H, l)
                out.append(H)
            return torch.stack(out, 1)

        def iterates(self, Z0):
            """The query token's W slot after each layer: ``(B, L + 1, k)``."""
            return self.forward(Z0)[:, :, -1, self.construction.slot("W")]

        def logits(self, Z0):
            """The query's logit ``z_l = h_q^T R h_q`` after each layer: ``(B, L + 1)``."""
            hq = self.forward(Z0)[:, :, -1]
            return torch.einsum("bla,ac,blc->bl", hq, self.R, hq)

    return _NGDTransformer


def NGDTransformer(construction, dtype=None):
    """The L-layer softmax transformer of :class:`~markov_icl.symbolic.ngd.NGDConstruction` as a ``torch.nn.Module``.

    Methods: ``tokens(Z0)``, ``layer(H, l)``, ``forward(Z0)`` (all tokens after each layer), ``iterates(Z0)``
    (the query's W slot: the NGD iterates), ``logits(Z0)`` (``psi(x_q)^T w_l``).

    Examples:
        >>> from markov_icl.symbolic.ngd import NGDConstruction
        >>> from markov_icl.numeric.prompts import sample_prompts
        >>> from markov_icl.symbolic.laws import ChainLaw
        >>> pb = sample_prompts(ChainLaw.default("1/2"), d=2, n=6, batch=4, seed=0)
        >>> model = NGDTransformer(NGDConstruction(d=2, layers=3, eta="1/2"))
        >>> U, _ = prompt_features(pb.Z0)
        >>> err = (model.iterates(pb.Z0).numpy() - ngd_iterates(U.numpy(), 0.5, 3)).max()
        >>> bool(abs(err) < 1e-12), tuple(model.logits(pb.Z0).shape)
        (True, (4, 4))
    """
    import torch

    return _torch_module()(construction, dtype or torch.float64)


# ------------------------------------------------------------------------------------------------ max margin
def max_margin_direction(U) -> tuple[np.ndarray, float]:
    """The max-margin unit direction of a separable set ``{u_i}`` and its margin ``gamma* = min_i u_i^T v``.

    ``v`` is the minimum-norm point of the convex hull of the ``u_i``, normalised (the hard-margin SVM through
    the origin); found by SLSQP on the simplex of weights (a labelled float search, tolerance 1e-15).
    """
    from scipy.optimize import minimize

    A = np.asarray(U, dtype=np.float64)
    m = len(A)
    G = A @ A.T
    res = minimize(lambda lam: (lam @ G @ lam, 2 * G @ lam), np.full(m, 1.0 / m), jac=True, method="SLSQP",
                   bounds=[(0.0, 1.0)] * m, constraints=[{"type": "eq", "fun": lambda lam: lam.sum() - 1.0,
                                                          "jac": lambda lam: np.ones(m)}],
                   options={"ftol": 1e-15, "maxiter": 500})
    v = A.T @ res.x
    nv = np.linalg.norm(v)
    if nv <= 0:
        raise MarkovICLError("max_margin_direction: the set is not separable (0 is in its convex hull)")
    v = v / nv
    return v, float((A @ v).min())


# ------------------------------------------------------------------------------------------------ exact sums
@dataclass
class NGDDepthTable:
    """Accuracy and losses of the NGD transformer at depths ``0..L`` (:func:`ngd_depth_table`, :func:`ngd_depth_table_mc`).

    Attributes:
        rows: one dict per depth ``l``: ``accuracy`` (and ``accuracy_exact``, a rational string, for exact sums),
            ``squared_loss`` (``yhat = sigma(2 z)``), ``log_loss`` (nats), ``context_loss`` (the in-context
            exponential loss ``E[L(w_l)]``), ``cos_max_margin`` and ``margin_ratio`` (``min_i u_i^T w / ||w||``
            over ``gamma*``), both averaged over separable contexts; standard errors (``*_se``) for Monte Carlo.
        reference: ``bayes_accuracy``, ``bayes_risk``, ``logistic_accuracy``, ``logistic_squared_loss``,
            ``separable_fraction`` (exact rational string for exact sums), with standard errors for Monte Carlo.
        method: ``"exact weights"`` or ``"monte carlo"``; ``size``: pairs summed or prompts drawn;
        ties: pairs (or prompts) whose logit lies within ``[1e-9, 1e-6]`` of zero at some depth (0: every sign is clear).
    """

    d: int
    p: str
    n: int
    eta: list
    bias: bool
    rows: list = field(default_factory=list)
    reference: dict = field(default_factory=dict)
    method: str = ""
    size: int = 0
    ties: int = 0

    def to_dict(self) -> dict:
        return {"d": self.d, "p": self.p, "n": self.n, "eta": self.eta, "bias": self.bias, "method": self.method,
                "size": self.size, "near_ties": self.ties, "depths": self.rows, "reference": self.reference}


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


#: the most distinct contexts fitted by logistic regression in an exact table (about 1 ms per fit)
MAX_LOGISTIC_FITS = 5000
#: the Monte Carlo prompts of the logistic reference beyond MAX_LOGISTIC_FITS distinct contexts
LOGISTIC_SAMPLES = 4000

#: |logit| below this is a tie (the prediction is a coin flip); logits in [TIE, 1e-6] are reported as near ties
TIE = 1e-9


def _type_counts(L) -> np.ndarray:
    """Counts of the chain types ``(x, y)`` (x major, y fastest) of every pair of a binary SoftmaxLoss."""
    N1 = L.Yx
    N0 = L.Nx - L.Yx
    return np.stack([N0, N1], -1).reshape(len(L.Nx), -1)



def _logistic_fits(types_x: np.ndarray, types_y: np.ndarray, counts: np.ndarray, inputs: np.ndarray, progress=None):
    """scikit-learn's logistic regression (the classical learner of Fig. 6: L2, C = 1, lbfgs, intercept) on every
    distinct context (rows of ``counts``, as sample weights), predicted at every input: ``P(y = 1)`` ``(V, 2^d)``."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    out = np.empty((len(counts), len(inputs)))
    rows = range(len(counts))
    for v in wrapped(progress, rows, "logistic regression fits", unit="fit"):
        c = counts[v]
        keep = c > 0
        ys = types_y[keep]
        if len(np.unique(ys)) == 1:
            out[v] = float(ys[0])
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = LogisticRegression(C=1.0, max_iter=1000).fit(types_x[keep], ys, sample_weight=c[keep])
        out[v] = model.predict_proba(inputs)[:, 1]
    return out


def ngd_depth_table(d: int, p="1/2", n: int = 10, layers: int = 10, eta="1/2", bias: bool = True, kernel: str = "uniform",
                init: str = "iid", logistic: bool = True, bayes: bool = True, logistic_samples: int = LOGISTIC_SAMPLES,
                seed: int = 0, progress=None) -> NGDDepthTable:
    """Exact expected accuracy and losses of the NGD transformer at depths ``0..L`` on binary Markov prompts.

    The NGD iterates depend on the context only through its chain-type counts ``N`` and the query only through
    ``x_q``, so every expectation is a sum over the pairs ``(x_q, N)`` of
    :class:`~markov_icl.symbolic.softmax.SoftmaxLoss` with its exact weights ``A_0 = P(x_q, N)`` and
    ``A_1 = E[1{x_q, N} y_q]``: ``accuracy = sum A_1 1{z > 0} + (A_0 - A_1) 1{z < 0} + A_0 / 2 1{z = 0}``, an
    exact rational given the signs of the float64 logits (ties: ``|z| < 1e-9``; near ties are counted).
    The separable fraction ``sum A_0 1{N separable}`` is exact (certificates of
    :func:`~markov_icl.symbolic.ngd.separable`). Losses are float64 sums with the exact weights rounded once.

    Examples:
        >>> t = ngd_depth_table(1, "1/2", 3, layers=2, logistic=False)
        >>> [r["accuracy_exact"] for r in t.rows], t.reference["bayes_accuracy_exact"]   # d = 1: one step is Bayes
        (['1/2', '13/20', '13/20'], '13/20')
    """
    import flint

    from markov_icl.symbolic.ngd import NGDConstruction, chain_types, feature_map, separable
    from markov_icl.symbolic.softmax import SoftmaxLoss

    c = NGDConstruction(d, layers, eta, bias)
    etas = [float(e) for e in c.eta]
    L = SoftmaxLoss(d, p, n, kernel=kernel, init=init, progress=progress)
    types, U = chain_types(d, bias)
    counts = _type_counts(L)                                   # (V, T)
    psi = np.array([feature_map(x, bias) for x in L.inputs], dtype=np.float64)   # (2^d, k)
    # NGD depends on N only: iterate once per distinct context
    uniq, inv = np.unique(counts, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    W = ngd_iterates(np.broadcast_to(U.astype(float), (len(uniq),) + U.shape), etas, layers, counts=uniq)  # (Vu, L+1, k)
    Z = np.einsum("vlk,vk->vl", W[inv], psi[L.qidx])           # (V, L+1)
    A0e, A1e = L.A0_exact, L.A1_exact
    A0, A1 = L.A0, L.A1
    zero = flint.fmpq(0)
    half = flint.fmpq(1, 2)
    absz = np.abs(Z)
    ties = int(((absz >= TIE) & (absz <= 1e-6)).any(1).sum())
    # separability per support (the set of types present), exact
    support = [tuple(np.flatnonzero(row > 0)) for row in uniq]
    sep_cache: dict = {}
    mm_cache: dict = {}
    for s in set(support):
        sep_cache[s] = separable(U[list(s)])[0]
        if sep_cache[s]:
            mm_cache[s] = max_margin_direction(U[list(s)])
    sep_u = np.array([sep_cache[s] for s in support])
    sep = sep_u[inv]
    sep_frac = sum((a for a, s in zip(A0e, sep) if s), zero)
    # in-context loss, cosine to the max-margin direction and margin ratio, per distinct context
    m = np.einsum("tk,vlk->vlt", U.astype(float), W)           # margins of every type
    present = uniq > 0
    ctx_loss = (np.where(present[:, None, :], uniq[:, None, :] * np.exp(-m), 0.0).sum(-1)
                / uniq.sum(-1, keepdims=True))                 # (Vu, L+1)
    cosv = np.full((len(uniq), layers + 1), np.nan)
    ratio = np.full((len(uniq), layers + 1), np.nan)
    for v, s in enumerate(support):
        if sep_u[v]:
            vdir, gam = mm_cache[s]
            nw = np.linalg.norm(W[v], axis=-1)
            ok = nw > 0
            cosv[v, ok] = W[v, ok] @ vdir / nw[ok]
            ratio[v, ok] = m[v][ok][:, list(s)].min(-1) / nw[ok] / gam
    w_sep = A0 * sep
    rows = []
    for layer in range(layers + 1):
        z = Z[:, layer]
        pos, neg = z > TIE, z < -TIE
        acc = sum((a for a, t in zip(A1e, pos) if t), zero)
        acc += sum((a0 - a1 for a0, a1, t in zip(A0e, A1e, neg) if t), zero)
        acc += half * sum((a for a, t in zip(A0e, ~(pos | neg)) if t), zero)
        yhat = _sigmoid(2 * z)
        sq = float(L.E_y2) - 2 * A1 @ yhat + A0 @ (yhat * yhat)
        ll = A1 @ _softplus(-2 * z) + (A0 - A1) @ _softplus(2 * z)
        row = {"layer": layer, "accuracy_exact": str(acc), "accuracy": float(acc), "squared_loss": float(sq),
               "log_loss": float(ll), "context_loss": float(A0 @ ctx_loss[inv, layer])}
        if w_sep.sum() > 0 and layer > 0:
            row["cos_max_margin"] = float(np.nansum(w_sep * cosv[inv, layer]) / w_sep.sum())
            row["margin_ratio"] = float(np.nansum(w_sep * ratio[inv, layer]) / w_sep.sum())
        rows.append(row)
    ref = {"separable_fraction_exact": str(sep_frac), "separable_fraction": float(sep_frac)}
    if bayes:
        from markov_icl.symbolic.bayes import bayes as bayes_risk

        br = bayes_risk(d, p, n, kernel=kernel, init=init)
        ref.update(bayes_accuracy_exact=str(br.bayes_accuracy), bayes_accuracy=br.bayes_accuracy_float,
                   bayes_risk_exact=str(br.bayes_risk), bayes_risk=br.bayes_risk_float)
    if logistic and len(uniq) > MAX_LOGISTIC_FITS:
        mc = ngd_depth_table_mc(d, p, n, 1, eta=c.eta[0], bias=bias, samples=logistic_samples, seed=seed, kernel=kernel,
                            init=init, progress=progress)
        ref.update(logistic_method=f"monte carlo ({logistic_samples} prompts, seed {seed}): {len(uniq)} distinct "
                                   f"contexts exceed {MAX_LOGISTIC_FITS} exact fits",
                   logistic_accuracy=mc.reference["logistic_accuracy"],
                   logistic_accuracy_se=mc.reference["logistic_accuracy_se"])
    elif logistic:
        inputs = np.array(L.inputs, dtype=np.float64)
        types_x = np.array([x for x, _ in types], dtype=np.float64)
        types_y = np.array([y for _, y in types], dtype=np.int64)
        ref["logistic_method"] = f"exact weights: one weighted fit per distinct context ({len(uniq)})"
        P1 = _logistic_fits(types_x, types_y, uniq, inputs, progress)[inv, L.qidx]
        pos, neg = P1 > 0.5 + 1e-12, P1 < 0.5 - 1e-12
        acc = sum((a for a, t in zip(A1e, pos) if t), zero)
        acc += sum((a0 - a1 for a0, a1, t in zip(A0e, A1e, neg) if t), zero)
        acc += half * sum((a for a, t in zip(A0e, ~(pos | neg)) if t), zero)
        ref.update(logistic_accuracy_exact=str(acc), logistic_accuracy=float(acc),
                   logistic_squared_loss=float(float(L.E_y2) - 2 * A1 @ P1 + A0 @ (P1 * P1)))
    return NGDDepthTable(d, str(L.p), n, [str(e) for e in c.eta], bias, rows, ref, "exact weights", L.size, ties)


def ngd_depth_table_mc(d: int, p="1/2", n: int = 10, layers: int = 10, eta="1/2", bias: bool = True, samples: int = 20_000,
                   seed: int = 0, kernel: str = "uniform", init: str = "iid", logistic: bool = True,
                   chunk: int = 5000, progress=None) -> NGDDepthTable:
    """The quantities of :func:`ngd_depth_table` by Monte Carlo on ``samples`` seeded prompts, with standard errors.

    The construction runs as :class:`NGDTransformer` (float64); logistic regression is the classical learner of
    Fig. 6 fitted per prompt (:func:`~markov_icl.numeric.classical.classical_predictions`); the Bayes rule is
    :class:`~markov_icl.numeric.bayes.BayesPredictor` on the same prompts; separability is exact per prompt.

    Examples:
        >>> t = ngd_depth_table_mc(1, "1/2", 3, layers=1, samples=400, logistic=False)
        >>> abs(t.rows[1]["accuracy"] - 0.65) < 4 * t.rows[1]["accuracy_se"]
        True
    """
    import torch

    from markov_icl.numeric.bayes import BayesPredictor
    from markov_icl.numeric.prompts import sample_prompts
    from markov_icl.symbolic.ngd import NGDConstruction, separable

    samples = check_int("samples", samples, 2)
    c = NGDConstruction(d, layers, eta, bias)
    model = NGDTransformer(c)
    chunk = min(chunk, batch_chunk(n, layers, c.width))
    law = _law(p, kernel, init)
    g = torch.Generator().manual_seed(seed)
    cols: list[list[Any]] = [[] for _ in range(11)]
    acc, sq, ll, cl, cosm, rat, sepv, bacc, bsq, lacc, lsq = cols
    ties = 0
    sep_cache: dict = {}
    chunks = [min(chunk, samples - s) for s in range(0, samples, chunk)]
    bp = BayesPredictor(kernel, 2)
    for size in wrapped(progress, chunks, "ngd monte carlo", unit="chunk"):
        pb = sample_prompts(law, d, n, size, generator=g)
        y = pb.y.double().numpy()
        with torch.no_grad():
            W = model.iterates(pb.Z0).numpy()                        # (B, L+1, k)
        U, xq = prompt_features(pb.Z0, bias)
        U, xq = U.numpy(), xq.numpy()
        z = np.einsum("blk,bk->bl", W, xq)
        ties += int(((np.abs(z) >= TIE) & (np.abs(z) <= 1e-6)).any(1).sum())
        correct = np.where(np.abs(z) < TIE, 0.5, ((z > 0) == (y[:, None] > 0.5)).astype(float))
        yhat = _sigmoid(2 * z)
        acc.append(correct)
        sq.append((yhat - y[:, None]) ** 2)
        ll.append(np.where(y[:, None] > 0.5, _softplus(-2 * z), _softplus(2 * z)))
        m = np.einsum("bik,blk->bli", U, W)
        mu = m.min(-1, keepdims=True)
        cl.append(np.exp(-mu[..., 0]) * np.exp(-(m - mu)).mean(-1))
        keys = [tuple(sorted({tuple(r) for r in Ub.astype(int).tolist()})) for Ub in U]
        cos_b = np.full(z.shape, np.nan)
        rat_b = np.full(z.shape, np.nan)
        sep_b = np.zeros(len(keys))
        for b, key in enumerate(keys):
            if key not in sep_cache:
                ok = separable(np.array(key))[0]
                sep_cache[key] = max_margin_direction(np.array(key, dtype=float)) if ok else None
            mm = sep_cache[key]
            if mm is not None:
                sep_b[b] = 1
                nw = np.linalg.norm(W[b], axis=-1)
                good = nw > 0
                cos_b[b, good] = W[b, good] @ mm[0] / nw[good]
                rat_b[b, good] = m[b, good].min(-1) / nw[good] / mm[1]
        cosm.append(cos_b)
        rat.append(rat_b)
        sepv.append(sep_b)
        Z0 = pb.Z0.double()
        bpred = bp(Z0).numpy()
        bacc.append((bp.predict_state(Z0).numpy() == y).astype(float))
        bsq.append((bpred - y) ** 2)
        if logistic:
            from markov_icl.numeric.classical import classical_predictions

            lp = classical_predictions(pb, 2, ("logistic",))["logistic"].numpy()
            lacc.append((lp == y).astype(float))
    cat = np.concatenate

    def ms(a, axis=0):
        a = cat(a, axis)
        good = ~np.isnan(a)
        cnt = good.sum(axis)
        mean = np.nansum(a, axis) / np.maximum(cnt, 1)
        var = np.nansum((a - mean) ** 2, axis) / np.maximum(cnt - 1, 1)
        return mean, np.sqrt(var / np.maximum(cnt, 1))

    rows = []
    stats = {k: ms(v) for k, v in (("accuracy", acc), ("squared_loss", sq), ("log_loss", ll), ("context_loss", cl),
                                      ("cos_max_margin", cosm), ("margin_ratio", rat))}
    for layer in range(layers + 1):
        row: dict[str, Any] = {"layer": layer}
        for k, (mean, se) in stats.items():
            if k in ("cos_max_margin", "margin_ratio") and layer == 0:
                continue
            row[k], row[k + "_se"] = float(mean[layer]), float(se[layer])
        rows.append(row)
    ref = {}
    for k, v in (("separable_fraction", sepv), ("bayes_accuracy", bacc), ("bayes_risk", bsq),
                 *((("logistic_accuracy", lacc),) if logistic else ())):
        mean, se = ms(v)
        ref[k], ref[k + "_se"] = float(mean), float(se)
    return NGDDepthTable(d, str(p), n, [str(e) for e in c.eta], bias, rows, ref, "monte carlo", samples, ties)


def _law(p, kernel: str, init: str):
    from markov_icl.symbolic.laws import ChainLaw

    return ChainLaw.from_options(p, kernel, init)


# ------------------------------------------------------------------------------------------------ looped model
@dataclass
class LoopedResult:
    """One free softmax layer trained on one NGD step, then looped (:func:`train_looped`).

    Attributes:
        losses: the training loss per step; ``one_step_error``: the largest |layer output - NGD step| on held-out
            tokens (W slot); ``iterate_error``: per depth ``l = 1..L``, the largest |looped W slot - w_l| on held-out
            prompts; ``weight_error``: the largest difference of the trained ``W_KQ`` (U x W block) and ``W_OV``
            (W x U block) from the construction's; ``other_blocks``: the largest entry of the trained matrices
            outside those blocks, outside the row of the constant key entry (softmax ignores it) and outside the
            columns of the query's U slot (always 0, so never trained);
            ``accuracy``: per depth, the looped model's and the construction's accuracy on the held-out prompts.
    """

    losses: list
    one_step_error: float
    iterate_error: list
    weight_error: float
    other_blocks: float
    accuracy: list
    construction_accuracy: list
    W_KQ: np.ndarray | None = field(repr=False, default=None)
    W_OV: np.ndarray | None = field(repr=False, default=None)


def train_looped(d: int = 1, n: int = 10, eta="1/2", layers: int = 10, p="1/2", steps: int = 3000, batch: int = 256,
                 lr: float = 0.01, w_scale: float = 3.0, seed: int = 0, eval_prompts: int = 2000, bias: bool = True,
                 progress=None) -> LoopedResult:
    """Train one softmax attention layer (free ``W_KQ``, ``W_OV``, float64, Adam) to map every token with a random W
    slot ``w ~ N(0, w_scale^2 I)`` to its NGD step ``w - eta grad L(w) / L(w)`` (the target from
    :func:`ngd_iterates`), on sampled Markov contexts; then loop it ``layers`` times from ``w = 0``.

    Examples:
        >>> r = train_looped(d=1, n=6, layers=3, steps=300, eval_prompts=200)
        >>> r.losses[-1] < r.losses[0], len(r.iterate_error)
        (True, 3)
    """
    import torch

    from markov_icl.numeric.prompts import sample_prompts
    from markov_icl.symbolic.laws import ChainLaw
    from markov_icl.symbolic.ngd import NGDConstruction

    c = NGDConstruction(d, layers, eta, bias)
    e = float(c.eta[0])
    if len(set(c.eta)) > 1:
        raise MarkovICLError("the looped model repeats one layer: give one step size eta")
    ref = NGDTransformer(c)
    law = ChainLaw.default(p)
    g = torch.Generator().manual_seed(seed)
    width, k = c.width, c.k
    Wslot = c.slot("W")
    W_KQ = torch.nn.Parameter(0.01 * torch.randn(width, width, generator=g, dtype=torch.float64))
    W_OV = torch.nn.Parameter(0.01 * torch.randn(width, width, generator=g, dtype=torch.float64))
    opt = torch.optim.Adam([W_KQ, W_OV], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)

    def apply(H):
        ctx = H[:, :-1]
        att = torch.einsum("bia,ac,btc->bti", ctx, W_KQ, H).softmax(-1)
        return H + torch.einsum("bti,ca,bia->btc", att, W_OV, ctx)

    def batch_of(size):
        pb = sample_prompts(law, d, n, size, generator=g)
        H = ref.tokens(pb.Z0)
        H[:, :, Wslot] = w_scale * torch.randn(H.shape[0], H.shape[1], k, generator=g, dtype=torch.float64)
        U, _ = prompt_features(pb.Z0, bias)
        wq = H[:, -1, Wslot].numpy()
        target = H[:, -1].clone()
        target[:, Wslot] = torch.as_tensor(ngd_iterates(U.numpy(), e, 1, w0=wq)[:, 1])
        return pb, H, target

    losses = []
    it = range(check_int("steps", steps, 1))
    for _ in wrapped(progress, it, "looped layer", unit="step"):
        _, H, target = batch_of(batch)
        loss = ((apply(H)[:, -1] - target) ** 2).sum(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    with torch.no_grad():
        pb, H, target = batch_of(eval_prompts)
        one = float((apply(H)[:, -1, Wslot] - target[:, Wslot]).abs().max())
        H = ref.tokens(pb.Z0)
        U, xq = prompt_features(pb.Z0, bias)
        direct = ngd_iterates(U.numpy(), e, layers)
        y = pb.y.double().numpy()
        errs: list[float] = []
        acc_loop: list[float] = []
        acc_ref: list[float] = []
        for layer in range(1, layers + 1):
            H = apply(H)
            w = H[:, -1, Wslot].numpy()
            errs.append(float(np.abs(w - direct[:, layer]).max()))
            for ws, out in ((w, acc_loop), (direct[:, layer], acc_ref)):
                z = np.einsum("bk,bk->b", ws, xq.numpy())
                out.append(float(np.where(np.abs(z) < TIE, 0.5, ((z > 0) == (y > 0.5))).mean()))
        WK, WO = W_KQ.detach().numpy(), W_OV.detach().numpy()
        CK = np.array(c.W_KQ().tolist(), dtype=float)
        CO = np.array(c.W_OV(1).tolist(), dtype=float)
        U_, W_ = c.slot("U"), c.slot("W")
        werr = max(np.abs(WK[U_, W_] - CK[U_, W_]).max(), np.abs(WO[W_, U_] - CO[W_, U_]).max())
        mask_k = np.ones_like(WK, bool)
        mask_k[U_, W_] = False
        mask_k[:, U_] = False  # the query's U slot is always 0: these columns never act (they keep their init)
        if bias:  # the constant entry of psi(x_i) in the key's X slot: its row only shifts scores by a query term
            mask_k[c.slot("X").stop - 1, :] = False
        mask_o = np.ones_like(WO, bool)
        mask_o[W_, U_] = False
        other = max(np.abs(WK[mask_k]).max(), np.abs(WO[mask_o]).max())
    return LoopedResult(losses, one, errs, float(werr), float(other), acc_loop, acc_ref, WK, WO)


__all__ = ["ngd_iterates", "prompt_features", "NGDTransformer", "batch_chunk", "MAX_ATTENTION_ENTRIES",
           "NGDDepthTable", "ngd_depth_table", "ngd_depth_table_mc", "max_margin_direction", "train_looped", "LoopedResult",
           "TIE"]
