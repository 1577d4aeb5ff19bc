"""Property test: random architectures (depth 1-6, widths 1-16, every activation, every loss),
library against PyTorch float64 on loss, input gradient and every parameter gradient.
5 losses x 50 examples = 250 networks per run."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop_lib import (
    BCELoss, BCEWithLogitsLoss, CategoricalCrossEntropy, CrossEntropyLoss, Dense, Identity, MSELoss, ReLU,
    Sequential, Sigmoid, Softmax, Tanh, loss_to_torch, to_torch,
)
from lib_reference import assert_matches_torch, t64

HIDDEN = [ReLU, Sigmoid, Tanh, Identity]
LOSSES = {  # loss -> (final activation choices, target kind)
    "MSELoss": (MSELoss, HIDDEN, "real"),
    "BCELoss": (BCELoss, [Sigmoid], "binary"),
    "BCEWithLogitsLoss": (BCEWithLogitsLoss, [Identity], "binary"),
    "CrossEntropyLoss": (CrossEntropyLoss, [Identity], "index"),
    "CategoricalCrossEntropy": (CategoricalCrossEntropy, [Softmax], "index"),
}


@st.composite
def networks(draw, loss_name):
    _, finals, _ = LOSSES[loss_name]
    depth = draw(st.integers(1, 6))
    widths = draw(st.lists(st.integers(1, 16), min_size=depth + 1, max_size=depth + 1))
    if loss_name in ("CrossEntropyLoss", "CategoricalCrossEntropy"):
        widths[-1] = draw(st.integers(2, 16))
    hidden = draw(st.lists(st.sampled_from(HIDDEN), min_size=depth - 1, max_size=depth - 1))
    final = draw(st.sampled_from(finals))
    batch = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**32 - 1))
    reduction = draw(st.sampled_from(["mean", "sum"]))
    return widths, hidden, final, batch, seed, reduction


def build(widths, hidden, final, seed):
    rng = np.random.default_rng(seed)
    modules = []
    for i in range(len(widths) - 1):
        modules.append(Dense(widths[i], widths[i + 1], rng=rng))
        modules.append(hidden[i]() if i < len(widths) - 2 else final())
    return Sequential(*modules)


@pytest.mark.parametrize("loss_name", list(LOSSES))
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(data=st.data())
def test_random_network_matches_torch(loss_name, data):
    widths, hidden, final, batch, seed, reduction = data.draw(networks(loss_name))
    loss_cls, _, target_kind = LOSSES[loss_name]
    model = build(widths, hidden, final, seed)
    rng = np.random.default_rng(seed + 1)
    X = rng.standard_normal((batch, widths[0])) * 2
    if target_kind == "real":
        y = rng.standard_normal((batch, widths[-1]))
        yt = t64(y)
    elif target_kind == "binary":
        y = rng.integers(0, 2, (batch, widths[-1])).astype(float)
        yt = t64(y)
    else:
        y = rng.integers(0, widths[-1], batch)
        yt = torch.tensor(y)
    loss = loss_cls(reduction)
    tmodel = to_torch(model)
    Xt = t64(X, grad=True)
    tvalue = loss_to_torch(loss)(tmodel(Xt), yt)
    tvalue.backward()
    value = loss(model(X), y)
    dX = model.backward(loss.backward())
    where = f"{loss_name} widths={widths} hidden={[h.__name__ for h in hidden]} final={final.__name__}"
    assert_matches_torch(value, tvalue, f"loss {where}")
    assert_matches_torch(dX, Xt.grad, f"dX {where}")
    for p, tp in zip(model.parameters(), tmodel.parameters(), strict=True):
        assert_matches_torch(p.grad, tp.grad, f"{p!r} {where}")
