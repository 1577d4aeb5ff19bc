import numpy as np
import pytest
import torch

from backprop_lib import (
    BCELoss, BCEWithLogitsLoss, CategoricalCrossEntropy, CrossEntropyLoss, Dense, Identity, MSELoss, ReLU,
    Sequential, Sigmoid, Softmax, Tanh, from_torch, loss_to_torch, to_torch,
)
from lib_reference import assert_matches_torch, t64


def test_round_trip_keeps_weights_and_function():
    model = Sequential(Dense(3, 4, rng=0), ReLU(), Dense(4, 4, rng=1), Sigmoid(), Dense(4, 2, rng=2), Tanh(), Identity(), Softmax())
    tm = to_torch(model)
    assert isinstance(tm, torch.nn.Sequential) and tm[0].weight.dtype == torch.float64
    back = from_torch(tm)
    x = np.random.default_rng(0).standard_normal((5, 3))
    assert_matches_torch(back(x), tm(t64(x)), "round trip")
    np.testing.assert_array_equal(back[0].W, model[0].W)


def test_nested_sequential_round_trip():
    model = Sequential(Sequential(Dense(3, 4, rng=0), Tanh()), Dense(4, 2, rng=1), Sequential(Sigmoid()))
    tm = to_torch(model)
    assert isinstance(tm[0], torch.nn.Sequential) and isinstance(tm[0][0], torch.nn.Linear)
    back = from_torch(tm)
    assert isinstance(back[0], Sequential) and isinstance(back[0][0], Dense)
    x = np.random.default_rng(1).standard_normal((5, 3))
    assert_matches_torch(model(x), tm(t64(x)), "nested to_torch")
    assert_matches_torch(back(x), tm(t64(x)), "nested round trip")


def test_to_torch_float32_and_weights_are_copied():
    model = Sequential(Dense(2, 2, rng=0, dtype=np.float32))
    tm = to_torch(model)
    assert tm[0].weight.dtype == torch.float32
    model[0].W[0, 0] = 42
    assert tm[0].weight[0, 0].item() != 42


def test_from_torch_linear_without_bias_and_errors():
    tm = torch.nn.Sequential(torch.nn.Linear(3, 2, bias=False, dtype=torch.float64))
    np.testing.assert_array_equal(from_torch(tm)[0].b, np.zeros(2))
    with pytest.raises(ValueError, match="no backprop_lib equivalent known for Conv1d"):
        from_torch(torch.nn.Sequential(torch.nn.Conv1d(1, 1, 1)))
    with pytest.raises(ValueError, match="last axis"):
        from_torch(torch.nn.Sequential(torch.nn.Softmax(dim=0)))

    class Odd:
        def forward(self, x):
            return x

        def backward(self, g):
            return g

    with pytest.raises(ValueError, match="no PyTorch equivalent"):
        to_torch(Sequential(Odd()))


@pytest.mark.parametrize(("loss", "pred", "target"), [
    (MSELoss(), [[0.5, 1.0]], [[0.0, 1.5]]),
    (MSELoss("sum"), [[0.5, 1.0]], [[0.0, 1.5]]),
    (MSELoss("half_sum"), [[0.5, 1.0]], [[0.0, 1.5]]),
    (BCELoss(), [[0.2], [0.7]], [[0.0], [1.0]]),
    (BCEWithLogitsLoss("sum"), [[0.2], [-0.7]], [[0.0], [1.0]]),
    (CrossEntropyLoss(), [[0.2, 1.0], [0.3, -1.0]], [1, 0]),
    (CategoricalCrossEntropy(), [[0.2, 0.8], [0.6, 0.4]], [1, 0]),
    (CategoricalCrossEntropy(), [[0.2, 0.8], [0.6, 0.4]], [[0.0, 1.0], [1.0, 0.0]]),
    (CategoricalCrossEntropy("sum"), [[0.2, 0.8], [0.6, 0.4]], [[0.0, 1.0], [1.0, 0.0]]),
])
def test_loss_to_torch_computes_the_same_value(loss, pred, target):
    pred, target = np.array(pred), np.array(target)
    tt = torch.tensor(target) if target.dtype.kind == "i" else t64(target)
    assert_matches_torch(loss(pred, target), loss_to_torch(loss)(t64(pred), tt), repr(loss))


def test_loss_to_torch_unknown():
    with pytest.raises(ValueError, match="no PyTorch equivalent"):
        loss_to_torch(object())


def test_to_torch_normalisation_and_residual_layers():
    from backprop_lib import BatchNorm1d, LayerNorm, Residual

    rng = np.random.default_rng(3)
    bn = BatchNorm1d(4)
    bn(rng.standard_normal((6, 4)))  # running statistics away from their start
    ln = LayerNorm(4)
    ln.gamma = rng.standard_normal(4)
    model = Sequential(Dense(3, 4, rng=0), bn, Residual(Sequential(ln, Tanh(), Dense(4, 4, rng=1))),
                       LayerNorm(4, elementwise_affine=False))
    tm = to_torch(model)
    x = rng.standard_normal((5, 3))
    assert tm[1].training and int(tm[1].num_batches_tracked) == 1
    assert_matches_torch(model(x), tm(t64(x)), "to_torch with norms (train)")
    assert_matches_torch(bn.running_var, tm[1].running_var, "copied running_var after a step")
    model.eval()
    tm = to_torch(model)
    assert not tm[1].training
    assert_matches_torch(model(x), tm(t64(x)), "to_torch with norms (eval)")


def test_max_relative_gradient_error_is_rounding_and_catches_a_wrong_backward():
    from backprop_lib import max_relative_gradient_error, torch_bridge
    from backprop_lib.explain.training import mlp

    assert torch_bridge.max_relative_gradient_error is max_relative_gradient_error
    rng = np.random.default_rng(0)
    model = mlp([3, 5, 4], "tanh", rng=rng)
    X = rng.standard_normal((6, 3))
    assert max_relative_gradient_error(model, MSELoss(), X, rng.standard_normal((6, 4))) < 1e-13
    y = rng.integers(0, 4, 6)
    assert max_relative_gradient_error(model, CrossEntropyLoss(), X, y) < 1e-13
    dense = model[0]
    original = dense.backward

    def wrong(g):
        out = original(g)
        dense.dW = dense.dW * 1.01
        return out

    dense.backward = wrong
    assert 5e-3 < max_relative_gradient_error(model, CrossEntropyLoss(), X, y) < 2e-2
    with pytest.raises(ValueError, match="max_relative_gradient_error: X must be"):
        max_relative_gradient_error(model, MSELoss(), X[0], y)


# --- one registry of activations ------------------------------------------------------------

def test_registry_lists_every_activation_with_its_names():
    from backprop_lib import ACTIVATIONS

    assert sorted(ACTIVATIONS) == ["gelu", "identity", "relu", "sigmoid", "softmax", "tanh"]
    for name, cls in ACTIVATIONS.items():
        assert cls.name == name
        assert isinstance(getattr(torch.nn, cls.torch_name)(**cls.torch_kwargs), torch.nn.Module)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "gelu", "identity", "softmax"])
def test_to_torch_and_mlp_agree_for_every_registered_activation(name):
    from backprop_lib import ACTIVATIONS
    from backprop_lib.explain.training import mlp

    model = mlp([3, 4, 2], name, output_activation=name, rng=0)
    tm = to_torch(model)
    assert type(tm[1]).__name__ == ACTIVATIONS[name].torch_name
    x = np.random.default_rng(2).standard_normal((5, 3))
    assert_matches_torch(model(x), tm(t64(x)), f"to_torch with {name}")
    assert_matches_torch(from_torch(tm)(x), tm(t64(x)), f"from_torch with {name}")


def test_a_new_registered_activation_reaches_mlp_to_torch_and_efficiency(monkeypatch):
    """mlp, to_torch and efficiency read the registry: nothing else lists activations."""
    from backprop_lib.explain import efficiency
    from backprop_lib.explain.training import mlp
    from backprop_lib.nn import Elementwise, activations

    class Softplus(Elementwise):
        name, torch_name = "softplus", "Softplus"

        @staticmethod
        def _f(z):
            return np.logaddexp(0.0, z)

        @staticmethod
        def _fprime(z, out):
            return 1.0 / (1.0 + np.exp(-z))

    monkeypatch.setitem(activations.ACTIVATIONS, "softplus", Softplus)
    model = mlp([3, 4, 2], "softplus", rng=0)
    tm = to_torch(model)
    assert isinstance(tm[1], torch.nn.Softplus)
    x = np.random.default_rng(3).standard_normal((2, 3))
    assert_matches_torch(model(x), tm(t64(x)), "to_torch with a new activation")
    assert isinstance(efficiency.layers_of(model)[0][1], Softplus)


def test_to_torch_keeps_each_layers_dtype_unless_told():
    model = Sequential(Dense(2, 3, rng=0, dtype=np.float32), Tanh(), Dense(3, 1, rng=1))
    tm = to_torch(model)
    assert (tm[0].weight.dtype, tm[2].weight.dtype) == (torch.float32, torch.float64)
    assert {p.dtype for p in to_torch(model, dtype=torch.float64).parameters()} == {torch.float64}
