"""backprop_lib.training: mlp, minibatches, accuracy, fit (vs fit_torch / PyTorch float64)."""

import numpy as np
import pytest
import torch

from backprop_lib import SGD, Adam, CrossEntropyLoss, MSELoss, datasets, to_torch
from backprop_lib.explain.training import accuracy, fit, fit_torch, minibatches, mlp


def test_mlp_structure_and_seed():
    m = mlp([2, 4, 3], "tanh", output_activation="sigmoid", rng=0)
    kinds = [type(x).__name__ for x in m]
    assert kinds == ["Dense", "Tanh", "Dense", "Sigmoid"]
    np.testing.assert_array_equal(m[0].W, mlp([2, 4, 3], "tanh", rng=0)[0].W)
    with pytest.raises(ValueError, match="mlp"):
        mlp([2])
    with pytest.raises(ValueError, match="unknown activation"):
        mlp([2, 2], "swish")


def test_minibatches_partition_each_epoch():
    rng = np.random.default_rng(0)
    batches = minibatches(10, 3, rng)
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert sorted(np.concatenate(batches).tolist()) == list(range(10))
    with pytest.raises(ValueError, match="must be >= 1"):
        minibatches(0, 3, rng)


def test_accuracy():
    assert accuracy(np.array([[0.1, 0.9], [2.0, -1.0], [0.0, 1.0]]), np.array([1, 0, 0])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match=r"scores \(B, C\) and labels \(B,\)"):
        accuracy(np.zeros(3), np.zeros(3, dtype=int))


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_fit_matches_torch_step_by_step(opt):
    X, y = datasets.spiral(30, 3, 0.2, rng=0)
    model = mlp([2, 8, 8, 3], "relu", rng=1)
    tm = to_torch(model)
    if opt == "sgd":
        ours, theirs = SGD(model.parameters(), lr=0.1, momentum=0.9), torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    else:
        ours, theirs = Adam(model.parameters(), lr=0.01), torch.optim.Adam(tm.parameters(), lr=0.01)
    h = fit(model, CrossEntropyLoss(), ours, X, y, epochs=5, batch_size=16, rng=3, X_val=X[:10], y_val=y[:10])
    ref = fit_torch(tm, torch.nn.CrossEntropyLoss(), theirs, X, y, epochs=5, batch_size=16, rng=3)
    assert len(h["step_loss"]) == 5 * 6 == len(ref)
    np.testing.assert_allclose(h["step_loss"], ref, rtol=1e-10, atol=1e-12)
    for ours_p, theirs_p in zip(model.parameters(), tm.parameters(), strict=True):
        np.testing.assert_allclose(ours_p.data, theirs_p.detach().numpy(), rtol=1e-9, atol=1e-12)
    assert len(h["epoch_loss"]) == len(h["train_acc"]) == len(h["val_acc"]) == len(h["val_loss"]) == 5


def test_fit_regression_targets_and_learning():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3))
    Y = np.tanh(X @ np.array([[1.0], [-2.0], [0.5]]))
    model = mlp([3, 16, 1], "tanh", rng=2)
    h = fit(model, MSELoss(), Adam(model.parameters(), lr=0.02), X, Y, epochs=40, batch_size=16, rng=1)
    assert "train_acc" not in h
    assert h["epoch_loss"][-1] < 0.1 * h["epoch_loss"][0]


def test_fit_validates():
    model = mlp([2, 2], rng=0)
    with pytest.raises(ValueError, match="fit"):
        fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), np.ones(4), np.ones(4), epochs=1, batch_size=2, rng=0)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, MSELoss(), SGD(model.parameters(), lr=0.1), np.ones((4, 2)), np.ones((4, 2)), epochs=0, batch_size=2, rng=0)


def test_minibatches_drop_last_leaves_only_full_batches():
    batches = minibatches(10, 3, np.random.default_rng(0), drop_last=True)
    assert [len(b) for b in batches] == [3, 3, 3]
    assert len(set(np.concatenate(batches).tolist())) == 9
    same = minibatches(10, 3, np.random.default_rng(0))
    np.testing.assert_array_equal(np.concatenate(batches), np.concatenate(same)[:9])
    assert [len(b) for b in minibatches(9, 3, np.random.default_rng(0), drop_last=True)] == [3, 3, 3]
    with pytest.raises(ValueError, match="leaves no batch"):
        minibatches(2, 3, np.random.default_rng(0), drop_last=True)


def test_fit_and_compare_agrees_with_torch_and_checks_the_start():
    from backprop_lib.explain.training import fit_and_compare

    X, y = datasets.spiral(25, 3, 0.2, rng=0)
    model = mlp([2, 8, 3], "relu", rng=1)
    tm = to_torch(model)
    out = fit_and_compare(model, tm, CrossEntropyLoss(), torch.nn.CrossEntropyLoss(),
                          SGD(model.parameters(), lr=0.1, momentum=0.9),
                          torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9),
                          X, y, epochs=3, batch_size=16, rng=5, drop_last=True)
    assert out["steps"] == 3 * 4 == len(out["history"]["step_loss"])
    assert out["loss_dev"] < 1e-12 and out["param_dev"] < 1e-12
    other = mlp([2, 8, 3], "relu", rng=2)
    with pytest.raises(ValueError, match="must start from model's weights"):
        fit_and_compare(other, tm, CrossEntropyLoss(), torch.nn.CrossEntropyLoss(),
                        SGD(other.parameters(), lr=0.1), torch.optim.SGD(tm.parameters(), lr=0.1),
                        X, y, epochs=1, batch_size=16, rng=5)
    with pytest.raises(ValueError, match="rng must be an int seed"):
        fit_and_compare(model, tm, CrossEntropyLoss(), torch.nn.CrossEntropyLoss(),
                        SGD(model.parameters(), lr=0.1), torch.optim.SGD(tm.parameters(), lr=0.1),
                        X, y, epochs=1, batch_size=16, rng=np.random.default_rng(0))


def test_mlp_accepts_an_activation_class_and_rejects_anything_else():
    from backprop_lib import ReLU, Tanh

    assert [type(m).__name__ for m in mlp([2, 3, 1], Tanh, output_activation=ReLU, rng=0)] == [
        "Dense", "Tanh", "Dense", "ReLU"]
    with pytest.raises(ValueError, match="activation must be a name or one of the library's activation classes"):
        mlp([2, 3, 1], activation=3)
    with pytest.raises(ValueError, match=r"mlp: sizes\[1\] must be a positive integer, got True"):
        mlp([2, True, 3])
