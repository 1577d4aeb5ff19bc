"""The parity helper itself: it passes on correct modules and fails on a wrong backward."""

import numpy as np
import pytest
import torch

from backprop_lib import Dense, Tanh
from parity import check_against_torch


class WrongInputGrad(Dense):
    """The input gradient off by a relative 1e-6."""

    def backward(self, grad_out, *, input_grad=True):
        dx = super().backward(grad_out, input_grad=input_grad)
        return dx * (1 + 1e-6)


class WrongWeightGrad(Dense):
    """dW forgets one sample: the sum over the batch drops the last row."""

    def backward(self, grad_out, *, input_grad=True):
        dx = super().backward(grad_out, input_grad=input_grad)
        self.dW = grad_out[:-1].T @ self._x[:-1]
        return dx


class WrongBiasGrad(Dense):
    """db is the mean instead of the sum."""

    def backward(self, grad_out, *, input_grad=True):
        dx = super().backward(grad_out, input_grad=input_grad)
        self.db = self.db / grad_out.shape[0]
        return dx


class WrongTanh(Tanh):
    """tanh'(z) taken as 1 - tanh(z)."""

    @staticmethod
    def _fprime(z, out):
        return 1.0 - out


def test_passes_on_correct_modules_and_reports_errors():
    errors = check_against_torch(Dense(3, 2, rng=0), torch.nn.functional.linear, (4, 3))
    assert sorted(errors) == ["dW", "db", "forward", "input 0"]
    assert max(errors.values()) < 1e-12
    check_against_torch(Tanh(), torch.tanh, (2, 5), scale=3.0)


@pytest.mark.parametrize(("cls", "label"), [
    (WrongInputGrad, "input 0"), (WrongWeightGrad, "dW"), (WrongBiasGrad, "db"),
])
def test_fails_on_a_wrong_backward(cls, label):
    with pytest.raises(AssertionError, match=f"{label}"):
        check_against_torch(cls(3, 2, rng=0), torch.nn.functional.linear, (4, 3))


def test_fails_on_a_wrong_activation_derivative():
    with pytest.raises(AssertionError, match="input 0"):
        check_against_torch(WrongTanh(), torch.tanh, (3, 3))


def test_fails_on_a_wrong_forward():
    with pytest.raises(AssertionError, match="forward"):
        check_against_torch(Dense(3, 2, rng=0), lambda x, W, b: x @ W.T - b, (4, 3))


def test_every_parameter_must_be_checked():
    with pytest.raises(ValueError, match=r"must list every parameter"):
        check_against_torch(Dense(3, 2, rng=0), lambda x, W: x @ W.T, (4, 3), params=("W",))


def test_parameters_are_passed_in_the_order_given():
    check_against_torch(Dense(3, 2, rng=0), lambda x, b, W: torch.nn.functional.linear(x, W, b), (4, 3),
                        params=("b", "W"))


def test_explicit_inputs_and_argument_errors():
    x = np.array([[-1.0, 0.5, 2.0]])
    check_against_torch(Tanh(), torch.tanh, inputs=[x])
    with pytest.raises(ValueError, match="not both"):
        check_against_torch(Tanh(), torch.tanh, (1, 3), inputs=[x])
    with pytest.raises(ValueError, match="give input shapes"):
        check_against_torch(Tanh(), torch.tanh)
