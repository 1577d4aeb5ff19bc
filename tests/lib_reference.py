"""Shared helpers for the library tests: PyTorch float64 references and the parity tolerance."""

from __future__ import annotations

import numpy as np
import torch

RTOL = 1e-10
ATOL = 1e-12
WORST = {"rel": 0.0, "where": ""}


def t64(x, grad: bool = False) -> torch.Tensor:
    """NumPy array -> float64 torch tensor (optionally requiring grad)."""
    return torch.tensor(np.asarray(x, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def assert_matches_torch(ours, theirs, what: str = "") -> None:
    """Assert ``ours`` equals the PyTorch reference within rtol=1e-10, atol=1e-12 (and same shape)."""
    if isinstance(theirs, torch.Tensor):
        theirs = theirs.detach().numpy()
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} != torch {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=ATOL, err_msg=what)
    denom = np.maximum(np.abs(theirs), ATOL / RTOL)
    rel = float(np.max(np.abs(ours - theirs) / denom)) if ours.size else 0.0
    if rel > WORST["rel"]:
        WORST.update(rel=rel, where=what)


# --- reporting: the worst relative error seen against PyTorch, across xdist workers ---------
# Loaded as a pytest plugin (``-p lib_reference`` in pyproject), so these hooks run.
import json  # noqa: E402
import os  # noqa: E402
import pathlib  # noqa: E402

_REPORT_DIR = pathlib.Path(__file__).resolve().parent.parent / "artifacts" / "parity"


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # controller (or no xdist): start fresh
        for f in _REPORT_DIR.glob("*.json") if _REPORT_DIR.exists() else []:
            f.unlink()


def pytest_sessionfinish(session):
    if WORST["rel"] > 0:
        _REPORT_DIR.mkdir(parents=True, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        (_REPORT_DIR / f"{worker}.json").write_text(json.dumps(WORST))


def pytest_terminal_summary(terminalreporter):
    reports = [json.loads(f.read_text()) for f in _REPORT_DIR.glob("*.json")] if _REPORT_DIR.exists() else []
    if reports:
        worst = max(reports, key=lambda r: r["rel"])
        terminalreporter.write_line(
            f"backprop_lib vs PyTorch float64: worst relative error {worst['rel']:.3g} ({worst['where']})"
        )
