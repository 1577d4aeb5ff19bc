import importlib
import pathlib
import subprocess
import sys

import pytest

import backprop_lib


def test_public_names_import():
    from backprop_lib import (  # noqa: F401
        Adam, BCELoss, BCEWithLogitsLoss, CategoricalCrossEntropy, CrossEntropyLoss, Dense, Identity,
        MSELoss, ReLU, SGD, Sequential, Sigmoid, Softmax, Tanh, matcalc, symbolic,
    )
    from backprop_lib import BatchNorm1d, LayerNorm, Residual, autodiff  # noqa: F401


def test_all_lists_real_objects():
    for name in backprop_lib.__all__:
        assert hasattr(backprop_lib, name), name


def test_matcalc_and_symbolic_expose_documented_functions():
    mc = importlib.import_module("backprop_lib.calculus.matcalc")
    assert mc is backprop_lib.matcalc
    for name in ("vec", "unvec", "commutation_matrix", "numerical_jacobian", "gradcheck"):
        assert callable(getattr(mc, name))
    sym = importlib.import_module("backprop_lib.calculus.symbolic")
    assert sym is backprop_lib.symbolic
    for name in ("matrix", "vec", "kron", "jacobian", "prove_equal"):
        assert callable(getattr(sym, name))


def test_import_loads_neither_torch_nor_sympy_until_needed():
    code = (
        "import sys, backprop_lib\n"
        "assert 'torch' not in sys.modules and 'sympy' not in sys.modules, 'heavy import at import time'\n"
        "m = backprop_lib.symbolic\n"
        "assert 'sympy' in sys.modules and m is sys.modules['backprop_lib.calculus.symbolic']\n"
        "from backprop_lib import index_notation, kron_checks\n"
        "assert 'torch' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'nonexistent'"):
        backprop_lib.nonexistent  # noqa: B018


def _run(code: str) -> None:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


# The layer test imports one subpackage with the package's own __init__ bypassed (it imports
# every layer, to offer the flat surface), so that what loads is what the layer itself imports.
_LAYER_IMPORT = (
    "import importlib, pathlib, sys, types\n"
    "root = pathlib.Path({root!r})\n"
    "pkg = types.ModuleType('backprop_lib'); pkg.__path__ = [str(root)]\n"
    "sys.modules['backprop_lib'] = pkg\n"
    "importlib.import_module({package!r})\n"
    "bad = [m for m in sys.modules if any(m == f or m.startswith(f + '.') for f in {forbidden!r})]\n"
    "assert not bad, f'unexpected imports: {{bad}}'\n"
)
_ROOT = str(pathlib.Path(backprop_lib.__file__).parent)


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("backprop_lib.nn", ("backprop_lib.explain", "backprop_lib.book", "backprop_lib.calculus",
                             "backprop_lib.torch_bridge", "sympy", "torch")),
        ("backprop_lib.autodiff", ("backprop_lib.nn", "backprop_lib.calculus", "backprop_lib.explain",
                                   "backprop_lib.book", "backprop_lib.torch_bridge", "sympy", "torch")),
        ("backprop_lib.calculus", ("backprop_lib.explain", "backprop_lib.book", "backprop_lib.nn",
                                   "sympy", "torch")),
        ("backprop_lib.explain", ("backprop_lib.book", "backprop_lib.torch_bridge", "sympy", "torch")),
        ("backprop_lib.torch_bridge", ("backprop_lib.explain", "backprop_lib.book", "sympy", "torch")),
    ],
)
def test_layers_import_only_the_layers_before_them(package, forbidden):
    """Importing a layer loads nothing from a later layer (and no SymPy or torch up front)."""
    _run(_LAYER_IMPORT.format(root=_ROOT, package=package, forbidden=forbidden))


def test_package_import_loads_neither_torch_nor_sympy():
    _run("import sys, backprop_lib\nassert 'torch' not in sys.modules and 'sympy' not in sys.modules\n")


def test_star_import_loads_no_sympy():
    _run(
        "import sys\n"
        "from backprop_lib import *  # noqa\n"
        "assert 'sympy' not in sys.modules and 'torch' not in sys.modules\n"
        "assert Dense and matcalc and training\n"
    )


def test_the_layer_check_can_fail():
    """The check above catches a layer that imports a later one (explain imports nn)."""
    code = _LAYER_IMPORT.format(root=_ROOT, package="backprop_lib.explain", forbidden=("backprop_lib.nn",))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "unexpected imports" in result.stderr


def test_no_private_name_crosses_a_module_boundary():
    """No module of the package imports a name starting with '_' from another module."""
    import ast

    root = pathlib.Path(backprop_lib.__file__).parent
    offences = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                offences += [f"{path.name}: {a.name}" for a in node.names
                             if a.name.startswith("_") and a.name != "__all__"]
    assert not offences, offences
