"""A GPT-2-style softmax transformer reading Markov ICL prompts (the paper's Appendix B.2).

The model is Hugging Face ``transformers``' :class:`~transformers.GPT2Model`, built from a
:class:`~transformers.GPT2Config` and trained from scratch (no weights are downloaded):
causal softmax self-attention, learned position embeddings, GELU MLPs, layer norms. One
prompt is ``n + 1`` tokens, one per chain, in the layout of the LSA's ``Z0`` (theory §2):

* context chain ``i``: ``(s_{i,1}, ..., s_{i,d}, s_{i,d+1}, 0)``, its inputs, its label and a
  query flag 0;
* the query: ``(s_{q,1}, ..., s_{q,d}, 0, 1)``, the label slot empty and the flag 1.

A linear read-in maps each token to the model width, and a linear read-out of the last
(query) position gives the prediction. Two objectives (``objective=``):

* ``"cross_entropy"`` (default): ``|S|`` logits, trained with the cross-entropy of the
  query's state; the predicted state is the argmax, the numeric prediction ``yhat`` the
  expected state under the softmax (the squared-loss-optimal number if calibrated);
* ``"squared"``: one number ``yhat`` (states as numbers, as for the LSA), trained with the
  squared loss of theory §2; the predicted state is ``yhat`` rounded (theory §9).
The query is the last token, so causal attention lets it see every context chain; the
attention weights of the query row are what Fig. 7 compares with the similarity of the
chains (:func:`query_attention`).

``transformers`` is an optional dependency (``pip install 'markov-icl[baselines]'``);
importing this module without it raises :class:`~markov_icl.errors.MarkovICLError` with that
line.

Examples:
    >>> import torch
    >>> from markov_icl.numeric.multistate import sample_multistate
    >>> pb = sample_multistate(2, d=2, n=5, batch=3, seed=0)
    >>> model = SoftmaxICL(d=2, states=2, layers=1, heads=1, width=16, max_n=8, seed=0)
    >>> tuple(model(pb.Z0).shape), tuple(model.logits(pb.Z0).shape), tuple(query_attention(model, pb.Z0).shape)
    ((3,), (3, 2), (1, 3, 1, 5))
"""

from __future__ import annotations

import torch
from torch import nn

from markov_icl.errors import MarkovICLError, check_int

try:  # optional: the [baselines] extra
    from transformers import GPT2Config, GPT2Model
    from transformers.utils import logging as _hf_logging
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MarkovICLError("the softmax transformer needs the optional package transformers: "
                         "pip install 'markov-icl[baselines]'") from exc

_hf_logging.set_verbosity_error()

OBJECTIVES = ("cross_entropy", "squared")

#: largest width / layers / heads / context accepted (one command on a laptop or one GPU)
MAX_WIDTH, MAX_LAYERS, MAX_HEADS, MAX_CONTEXT = 4096, 48, 64, 4096


def tokens(Z0: torch.Tensor) -> torch.Tensor:
    """Prompt ``Z0 (B, d+1, n+1)`` -> tokens ``(B, n+1, d+2)``: the columns of ``Z0`` with a query flag."""
    B, _, T = Z0.shape
    flag = torch.zeros(B, T, 1, dtype=Z0.dtype, device=Z0.device)
    flag[:, -1] = 1
    return torch.cat([Z0.transpose(1, 2), flag], dim=-1)


def check_architecture(layers: int, heads: int, width: int, max_n: int) -> None:
    """GPT-2's sizes: positive integers within the limits, ``width`` a multiple of ``heads``.

    Raises:
        MarkovICLError: one line naming the option and what is allowed.
    """
    for name, v, top in (("layers", layers, MAX_LAYERS), ("heads", heads, MAX_HEADS), ("width", width, MAX_WIDTH),
                         ("max_n", max_n, MAX_CONTEXT)):
        check_int(f"--{name.replace('_', '-')}", v, 1)
        if v > top:
            raise MarkovICLError(f"--{name.replace('_', '-')} must be at most {top}, got {v}")
    if width % heads:
        raise MarkovICLError(f"--width must be a multiple of --heads (GPT-2 splits the width over the heads), "
                             f"got width {width}, heads {heads}")


class SoftmaxICL(nn.Module):
    """GPT-2 (softmax attention) with a linear read-in of chain tokens and a scalar read-out at the query.

    Args:
        d: chain input length (tokens have ``d + 2`` entries).
        states: number of chain states ``|S|``.
        objective: ``"cross_entropy"`` or ``"squared"`` (module docstring).
        layers, heads, width: GPT-2's ``n_layer``, ``n_head``, ``n_embd`` (``width`` divisible by ``heads``).
        max_n: the largest number of context chains (GPT-2's ``n_positions = max_n + 1``).
        seed: seeds the initialisation (GPT-2's normal(0, 0.02) init, the read-in and read-out).
        dropout: GPT-2's residual, embedding and attention dropout (default 0).
    """

    def __init__(self, d: int, states: int = 2, layers: int = 2, heads: int = 2, width: int = 64, max_n: int = 64,
                 seed: int = 0, dropout: float = 0.0, objective: str = "cross_entropy") -> None:
        super().__init__()
        self.d = check_int("d", d, 1)
        self.states = check_int("states", states, 2)
        if objective not in OBJECTIVES:
            raise MarkovICLError(f"--objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
        self.objective = objective
        check_architecture(layers, heads, width, max_n)
        if not 0.0 <= float(dropout) < 1.0:
            raise MarkovICLError(f"dropout must be in [0, 1), got {dropout}")
        self.max_n = max_n
        config = GPT2Config(vocab_size=1, n_positions=max_n + 1, n_embd=width, n_layer=layers, n_head=heads,
                            resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout, use_cache=False,
                            attn_implementation="eager")  # eager: the attention weights, for Fig. 7
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.read_in = nn.Linear(d + 2, width)
            self.gpt2 = GPT2Model(config)
            self.read_out = nn.Linear(width, states if objective == "cross_entropy" else 1)

    def _hidden(self, Z0: torch.Tensor, attentions: bool = False):
        if Z0.ndim != 3 or Z0.shape[1] != self.d + 1:
            raise MarkovICLError(f"prompts must have shape (B, d+1, n+1) with d = {self.d}, got {tuple(Z0.shape)}")
        if Z0.shape[2] - 1 > self.max_n:
            raise MarkovICLError(f"the model reads at most {self.max_n} context chains (its max_n), got {Z0.shape[2] - 1}")
        p = next(self.parameters())
        x = self.read_in(tokens(Z0.to(dtype=p.dtype, device=p.device)))
        return self.gpt2(inputs_embeds=x, output_attentions=attentions)

    def logits(self, Z0: torch.Tensor) -> torch.Tensor:
        """The read-out at the query token: ``(B, |S|)`` logits (cross-entropy) or ``(B, 1)`` (squared)."""
        return self.read_out(self._hidden(Z0).last_hidden_state[:, -1])

    def forward(self, Z0: torch.Tensor) -> torch.Tensor:
        """The numeric prediction ``yhat (B,)``: the expected state under the softmax, or the number read out."""
        out = self.logits(Z0)
        if self.objective == "squared":
            return out.squeeze(-1)
        return out.softmax(-1) @ torch.arange(self.states, dtype=out.dtype, device=out.device)

    def predict_state(self, Z0: torch.Tensor) -> torch.Tensor:
        """The predicted state ``(B,)`` (float): the argmax of the logits, or ``yhat`` rounded and clipped."""
        with torch.no_grad():
            out = self.logits(Z0)
            if self.objective == "squared":
                return out.squeeze(-1).round().clamp(0, self.states - 1)
            return out.argmax(-1).to(out.dtype)

    def loss(self, Z0: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The training objective on a batch: cross-entropy of the query's state, or the squared loss."""
        out = self.logits(Z0)
        y = y.to(device=out.device)
        if self.objective == "squared":
            return ((out.squeeze(-1) - y.to(out.dtype)) ** 2).mean()
        return torch.nn.functional.cross_entropy(out, y.long())


def train_softmax(model: SoftmaxICL, n_range: tuple[int, int], *, alpha: float = 1.0, steps: int,
                  batch: int, lr: float, seed: int = 0, device=None, callback=None, sample=None):
    """Train ``model`` by Adam (cosine decay to 0, gradient norm clipped to 1) on fresh prompts of its ``|S|``.

    Every step draws its context length ``n`` uniformly from ``n_range`` (inclusive), so one model is
    trained for every ``n`` it is evaluated at; the prompts come from
    :func:`~markov_icl.numeric.multistate.sample_multistate` (kernel rows Dirichlet(alpha), uniform
    initial states) in float32, or from ``sample(n, size, generator) -> PromptBatch`` when given (e.g. binary
    chains with ``P(s_1 = 1) = p``), and the loss is the model's objective (:meth:`SoftmaxICL.loss`,
    through :func:`~markov_icl.numeric.train.train`, which this wraps).

    Returns:
        The :class:`~markov_icl.numeric.train.TrainResult`.
    """
    from markov_icl.numeric.multistate import sample_multistate
    from markov_icl.numeric.train import train

    lo, hi = n_range
    if not 1 <= lo <= hi <= model.max_n:
        raise MarkovICLError(f"context lengths must satisfy 1 <= n_min <= n_max <= {model.max_n}, got {lo}..{hi}")
    dtype = next(model.parameters()).dtype

    def sampler(size, generator):
        n = int(torch.randint(lo, hi + 1, (1,), generator=generator))
        if sample is not None:
            pb = sample(n, size, generator)
            return type(pb)(pb.Z0.to(dtype), pb.y.to(dtype), pb.chains, pb.kernel)
        return sample_multistate(model.states, model.d, n, size, alpha=alpha, generator=generator, dtype=dtype)

    return train(model, None, model.d, hi, steps=steps, batch=batch, lr=lr, seed=seed, sampler=sampler,
                 schedule="cosine", clip=1.0, progress=False, device=device, callback=callback,
                 loss_fn=lambda m, Z0, y: m.loss(Z0, y))


def query_attention(model: SoftmaxICL, Z0: torch.Tensor) -> torch.Tensor:
    """Attention weights of the query token on the ``n`` context tokens: ``(layers, B, heads, n)``.

    The query row of every layer's softmax attention (its weight on itself, the remaining
    mass, is dropped); the weights are GPT-2's, after the causal mask and the softmax.
    """
    with torch.no_grad():
        out = model._hidden(Z0, attentions=True)
    return torch.stack([a[:, :, -1, :-1] for a in out.attentions])


def activation_bytes(batch: int, n: int, layers: int, heads: int, width: int) -> int:
    """Float32 bytes a training step keeps for the backward pass, about: per token and layer ~20 width-vectors
    (attention, MLP, norms) and two attention rows per head."""
    return 4 * batch * (n + 1) * layers * (20 * width + 2 * heads * (n + 1))


#: the most activation memory one training step may hold (:func:`activation_bytes`)
MAX_ACTIVATION_BYTES = 8 * 2**30


def check_size(what: str, batch: int, n: int, layers: int, heads: int, width: int) -> None:
    """Refuse a batch whose training step would hold more than :data:`MAX_ACTIVATION_BYTES`.

    Raises:
        MarkovICLError: naming the option, the estimate and the limit.
    """
    need = activation_bytes(batch, n, layers, heads, width)
    if need > MAX_ACTIVATION_BYTES:
        raise MarkovICLError(f"{what}: one training step of GPT-2 would hold about {need / 2**30:.1f} GiB of activations "
                             f"(batch {batch}, n {n}, {layers} layers, width {width}); at most "
                             f"{MAX_ACTIVATION_BYTES / 2**30:.0f} GiB: lower {what}, --width or --layers")


__all__ = ["OBJECTIVES", "activation_bytes", "check_size", "check_architecture", "MAX_ACTIVATION_BYTES", "SoftmaxICL", "tokens",
           "train_softmax", "query_attention", "MAX_WIDTH", "MAX_LAYERS", "MAX_HEADS", "MAX_CONTEXT"]
