import numpy as np
import pytest
import torch

from backprop_lib import book
from backprop_lib.book import FD_TOL, TOL, assert_close, glue, markdown_table, plain, typo_size


def test_plain_turns_numpy_values_into_python_numbers():
    assert repr(plain(np.float64(0.5))) == "0.5" and type(plain(np.int64(3))) is int
    assert plain(np.array([[1.0, 2.0]])) == [[1.0, 2.0]]
    assert plain((np.float32(1.5), [np.int32(2), "x"])) == (1.5, [2, "x"])
    assert plain("text") == "text"


def _capture_glue(monkeypatch):
    seen = {}

    def fake_glue(name, value, display=True):
        seen[name] = (value, display)

    monkeypatch.setattr("myst_nb.glue", fake_glue)  # book.glue imports it at call time
    return seen


def test_glue_stores_the_plain_repr(monkeypatch):
    """What reaches myst_nb.glue is a Python float, not np.float64 (whose text is its repr)."""
    seen = _capture_glue(monkeypatch)
    glue("k", np.float64(0.25))
    glue("n", np.int64(3), display=True)
    glue("v", np.array([1.5, 2.0]))
    value, display = seen["k"]
    assert type(value) is float and value == 0.25 and repr(value) == "0.25"
    assert display is False
    assert type(seen["n"][0]) is int and seen["n"][1] is True
    assert seen["v"][0] == [1.5, 2.0] and type(seen["v"][0][0]) is float


def test_glue_capture_would_see_a_numpy_scalar(monkeypatch):
    """The capture itself can fail: calling myst_nb.glue directly passes np.float64 through."""
    seen = _capture_glue(monkeypatch)
    import myst_nb

    myst_nb.glue("raw", np.float64(0.25), display=False)
    assert type(seen["raw"][0]) is np.float64


def test_tolerances_are_shared():
    assert (TOL, FD_TOL) == (1e-12, 1e-7)
    assert book.checks.TOL is TOL


def test_assert_close_sets_rtol_and_atol():
    assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]))
    assert_close(1e6, 1e6 + 1e-7)  # relative: 1e-13 of the value
    # atol alone would let this through (|diff| = 1e-9 <= 1e-12 + 1e-7 * 10 with numpy's
    # default rtol); with rtol = tol it fails
    with pytest.raises(AssertionError, match="Not equal to tolerance rtol=1e-12, atol=1e-12"):
        assert_close(10.0, 10.0 + 1e-9)
    np.testing.assert_allclose(10.0, 10.0 + 1e-9, atol=TOL)  # the loose form it replaces
    with pytest.raises(AssertionError, match="rtol=1e-07, atol=1e-07"):
        assert_close(1.0, 1.0 + 1e-6, FD_TOL)
    with pytest.raises(AssertionError, match="near zero"):
        assert_close(np.array([0.0]), np.array([1e-11]), err_msg="near zero")


def test_assert_close_accepts_torch_and_checks_shapes():
    t = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    assert_close(t * 1, np.array([1.0, 2.0]))
    with pytest.raises(AssertionError, match=r"shapes differ, \(2,\) != \(\)"):
        assert_close(np.array([1.0, 1.0]), 1.0)


def test_typo_size_counts_single_character_edits():
    assert typo_size("practive", "practice") == 1
    assert typo_size("the the", "the") == 4
    assert typo_size("it sinputs", "its inputs") == 2
    assert typo_size("", "abc") == 3 and typo_size("abc", "") == 3
    assert typo_size("same", "same") == 0


def test_markdown_table():
    text = markdown_table(["a", "$b$"], [[1, "x|y"], [2.5, "z"]], align="lr")
    assert text.splitlines() == ["| a | $b$ |", "|---|---:|", "| 1 | x\\|y |", "| 2.5 | z |"]
    with pytest.raises(ValueError, match="row 0 has 1 cells, expected 2"):
        markdown_table(["a", "b"], [[1]])
    with pytest.raises(ValueError, match="align must be"):
        markdown_table(["a"], [[1]], align="x")
