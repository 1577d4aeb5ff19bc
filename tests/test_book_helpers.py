import numpy as np

from backprop_lib.book import glue, plain, typo_size


def test_plain_turns_numpy_values_into_python_numbers():
    assert repr(plain(np.float64(0.5))) == "0.5" and type(plain(np.int64(3))) is int
    assert plain(np.array([[1.0, 2.0]])) == [[1.0, 2.0]]
    assert plain((np.float32(1.5), [np.int32(2), "x"])) == (1.5, [2, "x"])
    assert plain("text") == "text"


def test_glue_stores_the_plain_repr(capsys):
    glue("k", np.float64(0.25))  # outside a notebook, myst_nb.glue only records display data
    assert "np.float64" not in capsys.readouterr().out


def test_typo_size_counts_single_character_edits():
    assert typo_size("practive", "practice") == 1
    assert typo_size("the the", "the") == 4
    assert typo_size("it sinputs", "its inputs") == 2
    assert typo_size("", "abc") == 3 and typo_size("abc", "") == 3
    assert typo_size("same", "same") == 0
