"""The GPT-2 model of Figs. 6-7: token layout, attention read-out, errors, and that training learns in context.

Oracles: the token layout written out by hand; the softmax rows summing to one; on
near-deterministic kernels (alpha = 0.02) the query's label is almost a function of the
kernel and s_(q,d), which only the context reveals, so a model that beats the majority-label
rule by a wide margin has learned in context.
"""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("transformers")

from markov_icl.errors import MarkovICLError  # noqa: E402
from markov_icl.numeric.montecarlo import accuracy  # noqa: E402
from markov_icl.numeric.multistate import majority_predictions, sample_multistate  # noqa: E402
from markov_icl.numeric.softmax import SoftmaxICL, query_attention, tokens, train_softmax  # noqa: E402


def test_tokens_layout():
    pb = sample_multistate(3, d=2, n=4, batch=2, seed=1)
    T = tokens(pb.Z0)
    assert T.shape == (2, 5, 4)
    # context token i = (x_i, y_i, 0); the query = (x_q, 0, 1)
    assert torch.equal(T[:, :4, :3], pb.chains[:, :4, :])
    assert torch.equal(T[:, 4, :2], pb.chains[:, 4, :2])
    assert T[:, 4, 2].abs().sum() == 0 and T[:, 4, 3].tolist() == [1.0, 1.0] and T[:, :4, 3].abs().sum() == 0


def test_attention_rows_are_softmax_and_see_every_chain():
    model = SoftmaxICL(2, layers=2, heads=2, width=16, max_n=10, seed=0)
    pb = sample_multistate(2, d=2, n=7, batch=4, seed=0)
    att = query_attention(model, pb.Z0)
    assert att.shape == (2, 4, 2, 7)
    assert bool((att > 0).all()) and bool((att.sum(-1) < 1).all())  # the rest of the mass is on the query itself
    out = model._hidden(pb.Z0, attentions=True)
    for a in out.attentions:
        assert torch.allclose(a[:, :, -1].sum(-1), torch.ones(4, 2), atol=1e-6)
    # the query reads the context: changing one context label changes the prediction
    Z = pb.Z0.clone()
    Z[:, 2, 0] = 1 - Z[:, 2, 0]
    with torch.no_grad():
        assert not torch.allclose(model(Z), model(pb.Z0))


def test_bad_sizes_are_one_line_errors():
    with pytest.raises(MarkovICLError, match="--width must be a multiple of --heads"):
        SoftmaxICL(2, heads=3, width=16)
    model = SoftmaxICL(1, layers=1, heads=1, width=8, max_n=4)
    with pytest.raises(MarkovICLError, match="reads at most 4 context chains"):
        model(sample_multistate(2, d=1, n=5, batch=1, seed=0).Z0)
    with pytest.raises(MarkovICLError, match="shape"):
        model(torch.zeros(2, 5, 3))
    with pytest.raises(MarkovICLError, match="1 <= n_min <= n_max <= 4"):
        train_softmax(model, (2, 9), steps=1, batch=2, lr=0.01)


def test_seeded_training_is_reproducible():
    def once():
        model = SoftmaxICL(1, layers=1, heads=1, width=8, max_n=6, seed=3)
        return train_softmax(model, (3, 6), steps=5, batch=8, lr=0.01, seed=4).losses

    assert once() == once()


def test_objectives_predictions_and_losses():
    pb = sample_multistate(3, d=1, n=4, batch=6, seed=2)
    ce = SoftmaxICL(1, 3, layers=1, heads=1, width=8, max_n=4, seed=0)
    logits = ce.logits(pb.Z0)
    probs = logits.softmax(-1)
    assert torch.allclose(ce(pb.Z0), probs @ torch.tensor([0.0, 1.0, 2.0]))
    assert torch.equal(ce.predict_state(pb.Z0), logits.argmax(-1).float())
    expected = -torch.log(probs[torch.arange(6), pb.y.long()]).mean()
    assert torch.allclose(ce.loss(pb.Z0, pb.y), expected)
    sq = SoftmaxICL(1, 3, layers=1, heads=1, width=8, max_n=4, seed=0, objective="squared")
    yhat = sq(pb.Z0)
    assert torch.allclose(sq.loss(pb.Z0, pb.y), ((yhat - pb.y.float()) ** 2).mean())
    assert torch.equal(sq.predict_state(pb.Z0), yhat.detach().round().clamp(0, 2))
    with pytest.raises(MarkovICLError, match="--objective must be one of cross_entropy, squared"):
        SoftmaxICL(1, objective="hinge")


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["cross_entropy", "squared"])
def test_one_layer_one_head_learns_in_context(objective):
    S, d, n = 2, 1, 12
    model = SoftmaxICL(d, S, layers=1, heads=1, width=16, max_n=n, seed=0, objective=objective)
    train_softmax(model, (n, n), alpha=0.02, steps=400, batch=64, lr=0.01, seed=1)
    test = sample_multistate(S, d, n, 2000, alpha=0.02, seed=7)
    acc = accuracy(model.predict_state(test.Z0).double(), test.y, S)
    majority = float((majority_predictions(test, S) == test.y).double().mean())
    assert acc > majority + 0.1, (acc, majority)
