import numpy as np
import pytest
import torch
import torch.nn.functional as F

from backprop_lib import (
    BCELoss, BCEWithLogitsLoss, CategoricalCrossEntropy, CrossEntropyLoss, MSELoss, Softmax,
    softmax_cross_entropy_grad,
)
from lib_reference import assert_matches_torch, t64

REDUCTIONS = ["mean", "sum"]


def check_against_torch(loss, torch_fn, pred, target, target_t=None):
    pt = t64(pred, grad=True)
    tt = t64(target) if target_t is None else target_t
    ref = torch_fn(pt, tt)
    ref.backward()
    value = loss.forward(pred, target)
    assert isinstance(value, float)
    assert_matches_torch(value, ref, f"{loss!r} value")
    assert_matches_torch(loss.backward(), pt.grad, f"{loss!r} gradient")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(1, 1), (4, 1), (3, 5), (2,)])
def test_mse_matches_torch(reduction, shape):
    rng = np.random.default_rng(sum(shape))
    check_against_torch(MSELoss(reduction), torch.nn.MSELoss(reduction=reduction),
                        rng.standard_normal(shape), rng.standard_normal(shape))


def test_mse_half_sum_is_the_seeds_E_with_gradient_a_minus_y():
    a, y = np.array([0.2, 0.9]), np.array([0.0, 1.0])
    loss = MSELoss("half_sum")
    assert loss(a, y) == pytest.approx(0.5 * ((0.2) ** 2 + (0.1) ** 2), rel=1e-14)
    np.testing.assert_allclose(loss.backward(), a - y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(1, 1), (2, 1), (4, 3)])
def test_bce_matches_torch(reduction, shape):
    rng = np.random.default_rng(10 + sum(shape))
    p = rng.uniform(0.01, 0.99, shape)
    y = (rng.uniform(size=shape) > 0.5).astype(float)
    check_against_torch(BCELoss(reduction), torch.nn.BCELoss(reduction=reduction), p, y)


def test_bce_soft_targets_match_torch():
    check_against_torch(BCELoss(), torch.nn.BCELoss(), np.array([[0.3], [0.8]]), np.array([[0.25], [0.9]]))


def test_bce_at_probabilities_0_and_1_clamps_log_at_minus_100_like_torch():
    p = np.array([[0.0], [1.0], [0.0], [1.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    loss = BCELoss()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = loss(p, y)
        grad = loss.backward()
    assert value == pytest.approx(50.0)  # two terms of 100, two of 0, mean over 4
    assert np.isfinite(grad).all()
    check_against_torch(BCELoss(), torch.nn.BCELoss(), p, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_matches_torch_including_plus_minus_1000(reduction):
    x = np.array([[-1000.0], [-30.0], [-0.5], [0.0], [2.0], [30.0], [1000.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0], [1.0], [0.0], [1.0]])
    check_against_torch(BCEWithLogitsLoss(reduction), torch.nn.BCEWithLogitsLoss(reduction=reduction), x, y)
    assert np.isfinite(BCEWithLogitsLoss()(x, 1 - y))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("batch", "classes"), [(1, 2), (4, 3), (3, 3), (5, 1), (2, 7)])
def test_cross_entropy_with_class_indices_matches_torch(reduction, batch, classes):
    rng = np.random.default_rng(batch * classes)
    x = rng.standard_normal((batch, classes)) * 3
    idx = rng.integers(0, classes, batch)
    check_against_torch(CrossEntropyLoss(reduction), torch.nn.CrossEntropyLoss(reduction=reduction),
                        x, idx, target_t=torch.tensor(idx))


def test_cross_entropy_with_one_hot_and_probability_targets_matches_torch():
    x = np.array([[0.5, -1.0, 2.0], [1.0, 1.0, -3.0]])
    onehot = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    check_against_torch(CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), x, onehot)
    soft = np.array([[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]])
    check_against_torch(CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), x, soft)


def test_cross_entropy_at_plus_minus_1000_is_finite_and_matches_torch():
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
    idx = np.array([1, 2])
    check_against_torch(CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), x, idx, target_t=torch.tensor(idx))
    assert np.isfinite(CrossEntropyLoss()(x, idx))


def test_cross_entropy_accepts_whole_float_indices():
    x = np.array([[0.1, 0.2], [0.3, -0.1]])
    assert CrossEntropyLoss()(x, np.array([1.0, 0.0])) == CrossEntropyLoss()(x, np.array([1, 0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_categorical_cross_entropy_matches_torch_nll_of_log(reduction):
    p = np.array([[0.7, 0.1, 0.2], [0.1, 0.5, 0.4], [0.02, 0.9, 0.08]])
    idx = np.array([0, 1, 1])
    check_against_torch(CategoricalCrossEntropy(reduction), lambda a, b: F.nll_loss(torch.log(a), b, reduction=reduction),
                        p, idx, target_t=torch.tensor(idx))
    onehot = np.eye(3)[idx]
    ref = (lambda a, b: -(b * torch.log(a)).sum(1).mean()) if reduction == "mean" else (lambda a, b: -(b * torch.log(a)).sum())
    check_against_torch(CategoricalCrossEntropy(reduction), ref, p, onehot)


def test_categorical_cross_entropy_probability_zero_stays_finite():
    loss = CategoricalCrossEntropy()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = loss(np.array([[0.0, 1.0]]), np.array([0]))
        grad = loss.backward()
    assert value == pytest.approx(100.0) and np.isfinite(grad).all()


def test_fused_softmax_ce_gradient_equals_separate_and_torch():
    probs = np.array([[0.7, 0.1, 0.2], [0.1, 0.5, 0.4], [0.02, 0.9, 0.08]])
    idx = np.array([0, 1, 1])
    fused = softmax_cross_entropy_grad(probs, idx)
    cce = CategoricalCrossEntropy()
    cce(probs, idx)
    sm = Softmax()
    sm._s = probs  # the seed sets activation.output directly
    separate = sm.backward(cce.backward())
    np.testing.assert_allclose(fused, separate, rtol=1e-12, atol=1e-15)
    logits = np.log(probs)  # softmax(log p) = p because each row sums to 1
    ce = CrossEntropyLoss()
    ce(logits, idx)
    np.testing.assert_allclose(fused, ce.backward(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fused[0], [-0.1, 0.1 / 3, 0.2 / 3], rtol=1e-12)


def test_fused_gradient_one_hot_targets():
    p = np.array([[0.25, 0.75]])
    np.testing.assert_allclose(softmax_cross_entropy_grad(p, np.array([[0.0, 1.0]])), [[0.25, -0.25]])


# --- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("loss", [MSELoss(), BCELoss(), BCEWithLogitsLoss()])
def test_bad_input_mismatched_batch_between_prediction_and_target(loss):
    with pytest.raises(ValueError, match=r"prediction \(4, 1\) and target \(3, 1\)"):
        loss(np.full((4, 1), 0.5), np.zeros((3, 1)))


@pytest.mark.parametrize("loss", [CrossEntropyLoss(), CategoricalCrossEntropy()])
def test_bad_input_mismatched_batch_class_indices(loss):
    with pytest.raises(ValueError, match=r"shape \(4,\) to match prediction \(4, 3\), got \(3,\)"):
        loss(np.full((4, 3), 1 / 3), np.array([0, 1, 2]))


@pytest.mark.parametrize("loss", [CrossEntropyLoss(), CategoricalCrossEntropy()])
def test_bad_input_one_hot_target_wrong_shape(loss):
    with pytest.raises(ValueError, match=r"\(2, 3\) like the prediction, got \(2, 4\)"):
        loss(np.full((2, 3), 1 / 3), np.zeros((2, 4)))


@pytest.mark.parametrize("bad", [np.array([0, 3]), np.array([-1, 0])])
def test_bad_input_class_index_out_of_range(bad):
    with pytest.raises(ValueError, match=r"CrossEntropyLoss.*out of range.*\[0, 2\] for 3 classes"):
        CrossEntropyLoss()(np.zeros((2, 3)), bad)


def test_bad_input_class_index_not_whole_number():
    with pytest.raises(ValueError, match="whole numbers"):
        CrossEntropyLoss()(np.zeros((2, 3)), np.array([0.5, 1.0]))


def test_bad_input_class_index_wrong_dtype():
    with pytest.raises(ValueError, match="integers"):
        CrossEntropyLoss()(np.zeros((2, 3)), np.array(["a", "b"]))


def test_bad_input_target_rank_3():
    with pytest.raises(ValueError, match=r"target must be class indices"):
        CrossEntropyLoss()(np.zeros((2, 3)), np.zeros((2, 3, 1)))


def test_bad_input_cross_entropy_prediction_wrong_rank():
    with pytest.raises(ValueError, match=r"CrossEntropyLoss.*\(batch, classes\).*\(3,\)"):
        CrossEntropyLoss()(np.zeros(3), np.array([0]))


@pytest.mark.parametrize("loss", [BCELoss(), CategoricalCrossEntropy()])
def test_bad_input_probabilities_outside_0_1(loss):
    with pytest.raises(ValueError, match=r"prediction \(probabilities\) must lie in \[0, 1\]"):
        loss(np.array([[1.5, -0.5]]), np.array([[1.0, 0.0]]))


def test_bad_input_bce_target_outside_0_1():
    with pytest.raises(ValueError, match=r"BCEWithLogitsLoss.*target must lie in \[0, 1\]"):
        BCEWithLogitsLoss()(np.zeros((2, 1)), np.array([[2.0], [0.0]]))


@pytest.mark.parametrize("loss", [MSELoss(), BCELoss(), BCEWithLogitsLoss(), CrossEntropyLoss(), CategoricalCrossEntropy()])
def test_bad_input_non_finite_prediction(loss):
    pred = np.full((2, 2), 0.5)
    pred[0, 1] = np.nan
    with pytest.raises(ValueError, match=r"prediction of shape \(2, 2\) contains 1 non-finite"):
        loss(pred, np.array([0, 1]) if "Entropy" in type(loss).__name__ and "BCE" not in type(loss).__name__ else np.zeros((2, 2)))


def test_bad_input_non_finite_target():
    with pytest.raises(ValueError, match=r"target of shape \(1, 2\) contains"):
        MSELoss()(np.zeros((1, 2)), np.array([[np.inf, 0.0]]))
    with pytest.raises(ValueError, match="whole numbers"):
        CrossEntropyLoss()(np.zeros((1, 2)), np.array([np.nan]))


def test_bad_reduction():
    with pytest.raises(ValueError, match=r"BCELoss: reduction must be one of \('mean', 'sum'\), got 'half_sum'"):
        BCELoss("half_sum")


def test_reduction_set_later_is_checked_and_used_and_named_in_errors():
    loss = MSELoss()
    with pytest.raises(ValueError, match="reduction must be one of"):
        loss.reduction = "median"
    loss.reduction = "sum"
    assert loss.forward(np.array([1.0, 2.0]), np.array([0.0, 0.0])) == 5.0
    with pytest.raises(ValueError, match=r"MSELoss\(reduction='sum'\).forward: prediction and target must have the same shape"):
        loss.forward(np.ones(2), np.ones(3))


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="before forward"):
        MSELoss().backward()


def test_fused_gradient_bad_rank():
    with pytest.raises(ValueError, match="softmax_cross_entropy_grad"):
        softmax_cross_entropy_grad(np.zeros(3), np.array([0]))


# --- exact gradients for tiny but representable probabilities -------------------------------

@pytest.mark.parametrize("scale", [30.0, 40.0, 50.0])
@pytest.mark.parametrize("dtype_seed", [0, 1, 2])
def test_softmax_then_cce_matches_torch_nll_of_log_softmax_for_large_logits(scale, dtype_seed):
    """Logits of size 30-50 put target probabilities far below 1e-12: the old floor
    max(p, 1e-12) made the logit gradient wrong by orders of magnitude there."""
    rng = np.random.default_rng(dtype_seed)
    B, C = 6, 5
    z = 0.9 * scale * rng.uniform(-1.0, 1.0, (B, C))  # spread <= 90: -log p stays below 100
    target = rng.integers(0, C, B)
    z[0, target[0]] = -0.9 * scale  # at least one target probability below 1e-12
    z[0, (target[0] + 1) % C] = 0.9 * scale
    sm, cce = Softmax(), CategoricalCrossEntropy()
    p = sm.forward(z)
    assert np.exp(-100) < p[np.arange(B), target].min() < 1e-20
    value = cce.forward(p, target)
    dz = sm.backward(cce.backward())
    zt = t64(z, grad=True)
    vt = F.nll_loss(torch.log(torch.softmax(zt, dim=1)), torch.tensor(target))
    vt.backward()
    assert_matches_torch(value, vt, "Softmax -> CCE value")
    assert_matches_torch(dz, zt.grad, "Softmax -> CCE logit gradient")
    ce = CrossEntropyLoss()
    ce(z, target)
    assert_matches_torch(dz, ce.backward(), "Softmax -> CCE vs CrossEntropyLoss on the logits")


def test_cce_gradient_is_minus_y_over_p_for_tiny_p():
    p = np.array([[1e-30, 1.0 - 1e-30], [1e-300, 1.0]])
    loss = CategoricalCrossEntropy(reduction="sum")
    loss(p, np.array([0, 0]))
    np.testing.assert_array_equal(loss.backward(), [[-1.0 / 1e-30, -0.0], [-1.0 / 1e-300, -0.0]])
    pt = t64(p, grad=True)
    F.nll_loss(torch.log(pt), torch.tensor([0, 0]), reduction="sum").backward()
    assert_matches_torch(loss.backward(), pt.grad, "CCE gradient at p = 1e-30, 1e-300")


def test_cce_floors_only_zero_and_subnormal_probabilities():
    tiny = np.finfo(np.float64).tiny
    p = np.array([[0.0, 1.0], [tiny, 1.0 - tiny], [5e-324, 1.0]])
    loss = CategoricalCrossEntropy(reduction="sum")
    with np.errstate(over="raise", invalid="raise", divide="ignore"):
        loss(p, np.array([0, 0, 0]))
        g = loss.backward()
    assert np.isfinite(g).all()
    assert g[0, 0] == g[2, 0] == -1.0 / tiny  # floored: 1/p is infinite or not representable
    assert g[1, 0] == -1.0 / tiny  # the smallest normal probability itself: exact


def test_cce_float32_gradient_for_tiny_probabilities():
    p = np.array([[1e-30, 1.0]], dtype=np.float32)
    loss = CategoricalCrossEntropy()
    loss(p, np.array([0]))
    g = loss.backward()
    assert g.dtype == np.float32
    np.testing.assert_allclose(g[0, 0], -1.0 / np.float32(1e-30), rtol=1e-6)


def test_two_step_softmax_ce_gradient_is_exact_for_tiny_probabilities():
    from backprop_lib.explain import worked

    z = np.array([[-40.0, 40.0, 0.0], [1.0, 2.0, 3.0]])
    p = Softmax().forward(z)
    target = np.array([0, 2])
    fused = softmax_cross_entropy_grad(p, target)
    for method in ("vjp", "jacobian"):
        np.testing.assert_allclose(worked.softmax_ce_grad_two_step(p, target, method=method), fused,
                                   rtol=1e-12, atol=1e-15)
