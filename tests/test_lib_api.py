import importlib

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
