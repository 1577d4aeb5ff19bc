import importlib
import subprocess
import sys

import pytest

import backprop_lib


def test_public_names_import():
    from backprop_lib import (  # noqa: F401
        Adam, BCELoss, BCEWithLogitsLoss, CategoricalCrossEntropy, CrossEntropyLoss, Dense, Identity,
        MSELoss, ReLU, SGD, Sequential, Sigmoid, Softmax, Tanh, matcalc, symbolic,
    )


def test_all_lists_real_objects():
    for name in backprop_lib.__all__:
        assert hasattr(backprop_lib, name), name


def test_matcalc_and_symbolic_expose_documented_functions():
    mc = importlib.import_module("backprop_lib.matcalc")
    for name in ("vec", "unvec", "commutation_matrix", "numerical_jacobian", "gradcheck"):
        assert callable(getattr(mc, name))
    sym = importlib.import_module("backprop_lib.symbolic")
    for name in ("matrix", "vec", "kron", "jacobian", "prove_equal"):
        assert callable(getattr(sym, name))


def test_import_loads_neither_torch_nor_sympy_until_needed():
    code = (
        "import sys, backprop_lib\n"
        "assert 'torch' not in sys.modules and 'sympy' not in sys.modules, 'heavy import at import time'\n"
        "m = backprop_lib.symbolic\n"
        "assert 'sympy' in sys.modules and m is sys.modules['backprop_lib.symbolic']\n"
        "from backprop_lib import index_notation, kron_checks\n"
        "assert 'torch' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'nonexistent'"):
        backprop_lib.nonexistent  # noqa: B018
