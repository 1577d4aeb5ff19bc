"""Property test: random networks with residual blocks, LayerNorm and BatchNorm1d (training and
evaluation), library against PyTorch float64 on loss, input gradient and every parameter gradient."""

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop_lib import (
    BatchNorm1d, CrossEntropyLoss, Dense, Identity, LayerNorm, ReLU, Residual, Sequential, Tanh, loss_to_torch,
    to_torch,
)
from lib_reference import assert_matches_torch, t64

ACTS = [ReLU, Tanh, Identity]
NORMS = [None, LayerNorm, BatchNorm1d]


@st.composite
def architectures(draw):
    depth = draw(st.integers(1, 4))
    blocks = [(draw(st.integers(1, 12)), draw(st.sampled_from(NORMS)), draw(st.sampled_from(ACTS)),
               draw(st.booleans())) for _ in range(depth)]
    return (draw(st.integers(1, 8)), blocks, draw(st.integers(2, 6)), draw(st.integers(2, 8)),
            draw(st.booleans()), draw(st.integers(0, 2**32 - 1)))


def build(n_in, blocks, n_classes, seed):
    rng = np.random.default_rng(seed)
    modules, width = [], n_in
    for out, norm, act, residual in blocks:
        modules.append(Dense(width, out, rng=rng))
        width = out
        inner = []
        if norm:
            layer = norm(width)
            layer.gamma, layer.beta = rng.standard_normal(width), rng.standard_normal(width)
            inner.append(layer)
        inner.append(act())
        if residual:
            inner = [Residual(Sequential(*inner, Dense(width, width, rng=rng)))]
        modules.extend(inner)
    modules.append(Dense(width, n_classes, rng=rng))
    return Sequential(*modules)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(arch=architectures())
def test_random_graph_network_matches_torch(arch):
    n_in, blocks, n_classes, batch, evaluate, seed = arch
    model = build(n_in, blocks, n_classes, seed)
    rng = np.random.default_rng(seed + 1)
    if evaluate:  # a few training steps' worth of running statistics, then evaluation mode
        for _ in range(2):
            model(rng.standard_normal((batch, n_in)))
        model.eval()
    X = rng.standard_normal((batch, n_in)) * 2
    y = rng.integers(0, n_classes, batch)
    loss = CrossEntropyLoss()
    tmodel = to_torch(model)
    Xt = t64(X, grad=True)
    tvalue = loss_to_torch(loss)(tmodel(Xt), torch.tensor(y))
    tvalue.backward()
    value = loss(model(X), y)
    dX = model.backward(loss.backward())
    where = f"{model!r} eval={evaluate}"
    assert_matches_torch(value, tvalue, f"loss {where}")
    assert_matches_torch(dX, Xt.grad, f"dX {where}")
    for p, tp in zip(model.parameters(), tmodel.parameters(), strict=True):
        assert_matches_torch(p.grad, tp.grad, f"{p!r} {where}")
