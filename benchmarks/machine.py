"""Describe the machine a benchmark ran on (CPU, cores, BLAS, versions, threads, load)."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

#: Environment variables that change BLAS / OpenMP behaviour; recorded, never changed.
THREAD_ENV = (
    "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
    "MKL_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_VERBOSE",
)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def loadavg() -> list[float] | None:
    try:
        return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


def numpy_blas() -> dict:
    """NumPy's BLAS as NumPy reports it (name, version, configuration)."""
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return {k: blas.get(k) for k in ("name", "version", "openblas configuration")}
    except Exception as exc:  # older NumPy
        return {"error": repr(exc)}


def threadpools() -> list[dict]:
    """Every native thread pool loaded in this process (needs threadpoolctl; else empty)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keep = ("user_api", "internal_api", "num_threads", "version", "filepath", "architecture")
    return [{k: d.get(k) for k in keep} for d in threadpool_info()]


def numpy_blas_threads() -> int | None:
    """Threads NumPy's BLAS uses (threadpoolctl), or None when it cannot be told."""
    for pool in threadpools():
        if pool["user_api"] == "blas" and "numpy" in (pool.get("filepath") or "").replace("scipy_openblas", "numpy"):
            return pool["num_threads"]
    blas = [p for p in threadpools() if p["user_api"] == "blas"]
    return blas[0]["num_threads"] if blas else None


def git_revision() -> dict:
    def run(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    return {"commit": run("rev-parse", "--short", "HEAD"),
            "library_dirty": bool(run("status", "--porcelain", "--", "backprop_lib"))}


def describe() -> dict:
    """A JSON-ready description of this machine and software."""
    info = {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "numpy_blas": numpy_blas(),
        "env": {k: os.environ.get(k) for k in THREAD_ENV},
        "loadavg_start": loadavg(),
        "git": git_revision(),
    }
    try:
        import backprop_lib
        info["backprop_lib"] = backprop_lib.__version__
    except ImportError:
        pass
    return info
