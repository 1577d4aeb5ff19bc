import numpy as np
import pytest
import torch

from backprop_lib import (
    SGD, Adam, BCELoss, CrossEntropyLoss, Dense, Identity, MSELoss, Parameter, ReLU, Sequential, Sigmoid,
    Softmax, Tanh, loss_to_torch, to_torch,
)
from lib_reference import assert_matches_torch, t64


def seed003_like(rng=0):
    return Sequential(Dense(2, 3, rng=rng), ReLU(), Dense(3, 2, rng=rng + 1), ReLU(), Dense(2, 1, rng=rng + 2), Sigmoid())


def test_sequential_forward_backward_and_parameter_gradients_match_torch():
    model = Sequential(Dense(4, 5, rng=0), Tanh(), Dense(5, 5, rng=1), ReLU(), Dense(5, 3, rng=2), Softmax())
    x = np.random.default_rng(0).standard_normal((6, 4))
    g = np.random.default_rng(1).standard_normal((6, 3))
    tm = to_torch(model)
    xt = t64(x, grad=True)
    out = tm(xt)
    out.backward(t64(g))
    assert_matches_torch(model.forward(x), out, "Sequential forward")
    assert_matches_torch(model.backward(g), xt.grad, "Sequential dX")
    params = model.parameters()
    assert len(params) == 6
    for p, tp in zip(params, tm.parameters(), strict=True):
        assert_matches_torch(p.grad, tp.grad, f"Sequential {p!r}")


def test_sequential_container_protocol():
    model = seed003_like()
    assert len(model) == 6 and isinstance(model[0], Dense) and [type(m) for m in model][1] is ReLU
    assert "Dense(2 -> 3)" in repr(model)
    assert model(np.ones((2, 2))).shape == (2, 1)


def test_sequential_rejects_non_modules():
    with pytest.raises(ValueError, match="item 1 .* is not a module"):
        Sequential(Dense(2, 2), np.tanh)


class _NoShortcut:
    """A duck-typed module with parameters but no parameter_backward (Sequential falls back to backward)."""

    def __init__(self, layer):
        self.layer = layer
        self.backward_calls = 0

    def forward(self, x):
        return self.layer.forward(x)

    def backward(self, g):
        self.backward_calls += 1
        return self.layer.backward(g)

    def parameters(self):
        return self.layer.parameters()


@pytest.mark.parametrize("make", [
    lambda: Sequential(Dense(4, 5, rng=0), Tanh(), Dense(5, 3, rng=1), Softmax()),
    lambda: Sequential(Tanh(), Dense(4, 5, rng=0), ReLU(), Dense(5, 3, rng=1)),  # a leading activation
    lambda: Sequential(Sequential(Dense(4, 5, rng=0), Sigmoid()), Dense(5, 3, rng=1)),  # nested
    lambda: Sequential(_NoShortcut(Dense(4, 5, rng=0)), ReLU(), Dense(5, 3, rng=1)),  # duck-typed first module
], ids=["dense-first", "activation-first", "nested", "duck-typed"])
def test_backward_without_input_grad_sets_the_same_parameter_gradients_as_torch(make):
    model = make()
    x = np.random.default_rng(2).standard_normal((6, 4))
    g = np.random.default_rng(3).standard_normal((6, 3))
    reference = make()
    reference.forward(x)
    reference.backward(g)
    tm = to_torch(Sequential(*(m.layer if isinstance(m, _NoShortcut) else m for m in reference)))
    tm(t64(x)).backward(t64(g))  # the data needs no gradient, as in training
    model.forward(x)
    assert model.backward(g, input_grad=False) is None
    for p, q, tp in zip(model.parameters(), reference.parameters(), tm.parameters(), strict=True):
        np.testing.assert_array_equal(p.grad, q.grad)
        assert_matches_torch(p.grad, tp.grad, f"backward(input_grad=False) {p!r}")


def test_backward_without_input_grad_skips_modules_before_the_first_parameter():
    leading = Tanh()
    model = Sequential(leading, Dense(2, 2, rng=0))
    model.forward(np.ones((3, 2)))
    leading._z = None  # were Tanh.backward called now, it would raise "backward called before forward"
    model.backward(np.ones((3, 2)), input_grad=False)
    with pytest.raises(RuntimeError, match="before forward"):
        model.backward(np.ones((3, 2)))


def test_backward_without_input_grad_on_a_parameter_free_model():
    model = Sequential(ReLU(), Tanh())
    model.forward(np.ones((2, 2)))
    assert model.backward(np.ones((2, 2)), input_grad=False) is None
    assert model.parameters() == []


def run_training(model, loss, opt, tmodel, tloss, topt, X, y, yt, steps=100):
    Xt = t64(X)
    for step in range(steps):
        value = loss(model(X), y)
        model.backward(loss.backward())
        opt.step()
        topt.zero_grad()
        tvalue = tloss(tmodel(Xt), yt)
        tvalue.backward()
        topt.step()
        assert_matches_torch(value, tvalue, f"loss at step {step}")
    for p, tp in zip(model.parameters(), tmodel.parameters(), strict=True):
        assert_matches_torch(p.data, tp, f"{p!r} after {steps} steps")


OPTIMIZERS = {
    "sgd": (lambda ps: SGD(ps, lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
    "sgd-momentum": (lambda ps: SGD(ps, lr=0.05, momentum=0.9), lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9)),
    "sgd-nesterov-wd": (lambda ps: SGD(ps, lr=0.05, momentum=0.8, nesterov=True, weight_decay=1e-3),
                        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True, weight_decay=1e-3)),
    "sgd-dampening": (lambda ps: SGD(ps, lr=0.05, momentum=0.5, dampening=0.3),
                      lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.5, dampening=0.3)),
    "adam": (lambda ps: Adam(ps, lr=0.01), lambda ps: torch.optim.Adam(ps, lr=0.01)),
    "adam-betas-wd": (lambda ps: Adam(ps, lr=0.003, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2),
                      lambda ps: torch.optim.Adam(ps, lr=0.003, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2)),
}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_matches_torch_optim_over_100_steps(name):
    make, tmake = OPTIMIZERS[name]
    rng = np.random.default_rng(5)
    X = rng.standard_normal((8, 3))
    y = rng.integers(0, 4, 8)
    model = Sequential(Dense(3, 6, rng=1), Tanh(), Dense(6, 4, rng=2))
    tmodel = to_torch(model)
    run_training(model, CrossEntropyLoss(), make(model.parameters()), tmodel, torch.nn.CrossEntropyLoss(),
                 tmake(tmodel.parameters()), X, y, torch.tensor(y))


def test_sgd_trains_seed003_network_like_torch_with_bce():
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    y = np.array([[0.0], [1.0]])
    model = seed003_like(3)
    tmodel = to_torch(model)
    run_training(model, BCELoss(), SGD(model.parameters(), lr=0.5), tmodel, loss_to_torch(BCELoss()),
                 torch.optim.SGD(tmodel.parameters(), lr=0.5), X, y, t64(y))


@pytest.mark.parametrize(("args", "match"), [
    (dict(lr=0), "lr must be a finite number > 0"), (dict(lr=0.1, momentum=1.0), "momentum"),
    (dict(lr=0.1, weight_decay=-1), "weight_decay"), (dict(lr=0.1, nesterov=True), "nesterov"),
])
def test_sgd_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        SGD(Dense(2, 2).parameters(), **args)


@pytest.mark.parametrize(("args", "match"), [
    (dict(lr=-1), "lr must be a finite number > 0"), (dict(betas=(0.9, 1.0)), r"beta2 must be .* in \[0, 1\)"),
    (dict(betas=(0.9,)), "betas must be two numbers"), (dict(betas=0.9), "betas must be two numbers"),
    (dict(eps=0), "eps"), (dict(weight_decay=-1e-3), "Adam: weight_decay must be a finite number >= 0"),
    (dict(lr=float("nan")), "lr"), (dict(lr=float("inf")), "lr"), (dict(lr=True), "lr"),
])
def test_adam_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        Adam(Dense(2, 2).parameters(), **args)


@pytest.mark.parametrize(("args", "match"), [
    (dict(lr=0.1, dampening=1.5), r"SGD: dampening must be a finite number in \[0, 1\]"),
    (dict(lr=0.1, dampening=-0.1), "dampening"), (dict(lr=float("nan")), "lr"),
    (dict(lr="0.1"), "lr must be a finite number"), (dict(lr=0.1, momentum=float("nan")), "momentum"),
])
def test_sgd_checks_every_hyperparameter(args, match):
    with pytest.raises(ValueError, match=match):
        SGD(Dense(2, 2).parameters(), **args)


def test_optimizers_share_one_hyperparameter_check(monkeypatch):
    """SGD and Adam both call check_hyperparameters, with every hyper-parameter they take."""
    from backprop_lib.nn import optim

    seen = []
    monkeypatch.setattr(optim, "check_hyperparameters", lambda who, **kw: seen.append((who, sorted(kw))))
    params = Dense(2, 2).parameters()
    SGD(params, lr=0.1)
    Adam(params)
    assert seen == [("SGD", ["dampening", "lr", "momentum", "weight_decay"]),
                    ("Adam", ["beta1", "beta2", "eps", "lr", "weight_decay"])]


def test_optimizer_bad_parameter_lists():
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="model.parameters"):
        Adam([np.zeros(3)])


def test_step_before_backward_is_an_error():
    with pytest.raises(RuntimeError, match="no gradient"):
        SGD(Dense(2, 2).parameters(), lr=0.1).step()


def test_optimizer_updates_in_place():
    layer = Dense(2, 2, rng=0)
    W = layer.W
    layer(np.ones((1, 2)))
    layer.backward(np.ones((1, 2)))
    Adam(layer.parameters()).step()
    assert layer.W is W and isinstance(layer.parameters()[0], Parameter)


def test_identity_and_mse_half_sum_network():
    model = Sequential(Dense(2, 2, rng=0), Identity())
    loss = MSELoss("half_sum")
    x, y = np.array([[0.5, -0.2]]), np.array([[1.0, 0.0]])
    loss(model(x), y)
    model.backward(loss.backward())
    np.testing.assert_allclose(model[0].dW, np.outer(model(x)[0] - y[0], x[0]), rtol=1e-14)
