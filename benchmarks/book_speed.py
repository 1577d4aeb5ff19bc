"""The book's own speed: cold strict build, no-change rebuild, notebooks under nbmake.

Run from the repository root (it takes minutes and loads both cores; run it once)::

    .venv/bin/python -m benchmarks.book_speed [--out benchmarks/results/book_speed.json]

1. cold build, as ``make book`` does it: ``scripts/execute_notebooks.py`` runs every notebook in
   parallel into an empty cache in a new scratch directory, then
   ``jupyter-book build --all -W -n --keep-going --path-output <scratch>`` builds from it;
2. rebuild with nothing changed (same command without ``--all``, same scratch directory);
3. ``pytest --nbmake -n 2 chapters/ --durations=0`` (per-notebook times).

Also the import time of the heavy packages a notebook may load (each in a fresh interpreter),
and the load average before and after, since the machine may be shared.  Nothing asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .machine import ROOT, describe, loadavg

RESULTS = ROOT / "benchmarks" / "results" / "book_speed.json"
VENV_BIN = Path(sys.executable).parent
IMPORTS = ("numpy", "backprop_lib", "sympy", "matplotlib.pyplot", "torch", "myst_nb")


def timed(cmd: list[str], log: Path) -> dict:
    t0 = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, text=True)
    return {"cmd": " ".join(cmd), "seconds": time.perf_counter() - t0, "returncode": proc.returncode,
            "log": str(log), "loadavg_after": loadavg()}


def import_times(repeats: int = 3) -> dict:
    out = {}
    for mod in IMPORTS:
        samples = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", f"import {mod}"], cwd=ROOT, check=True)
            samples.append(time.perf_counter() - t0)
        out[mod] = sorted(samples)[len(samples) // 2]
    return out


def nbmake_durations(log_text: str) -> dict[str, float]:
    """Per-notebook seconds from pytest's ``--durations`` table (``12.34s call chapters/x.ipynb::...``)."""
    out: dict[str, float] = {}
    for m in re.finditer(r"^\s*([\d.]+)s\s+(call|setup|teardown)\s+(\S+\.ipynb)", log_text, re.M):
        out[m.group(3)] = out.get(m.group(3), 0.0) + float(m.group(1))
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def failed_notebooks(log_text: str) -> list[str]:
    """Notebooks that failed, from a build log (``x.ipynb: WARNING: Executing notebook failed``)
    or an nbmake log (``FAILED chapters/x.ipynb::x.ipynb``); colour codes are ignored."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", log_text)
    built = re.findall(r"([^\s:]+\.ipynb):(?: WARNING:)? Executing notebook failed", text)
    tested = re.findall(r"^FAILED ([^\s:]+\.ipynb)", text, re.M)
    return sorted(set(built + tested))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--skip-build", action="store_true", help="only nbmake and import times")
    args = ap.parse_args(argv)
    info = describe()
    logs = Path(tempfile.mkdtemp(prefix="book_speed_logs_"))
    result = {"machine": info, "steps": {}, "logs_dir": str(logs)}
    print(f"load average at start: {info['loadavg_start']}", flush=True)
    result["import_seconds"] = import_times()
    print("import times:", {k: round(v, 2) for k, v in result["import_seconds"].items()}, flush=True)
    jb = str(VENV_BIN / "jupyter-book")
    if not args.skip_build:
        scratch = Path(tempfile.mkdtemp(prefix="book_speed_build_"))
        # As `make book` does it: every notebook in parallel into an empty cache, then the build.
        execute = [str(VENV_BIN / "python"), "scripts/execute_notebooks.py", str(scratch / "_build")]
        build = [jb, "build", "--all", "-W", "-n", "--keep-going", "--path-output", str(scratch), str(ROOT)]
        cmd = ["bash", "-c", f"{shlex.join(execute)} && {shlex.join(build)}"]
        result["steps"]["cold_build"] = timed(cmd, logs / "cold_build.log")
        text = (logs / "cold_build.log").read_text(errors="replace")
        result["steps"]["cold_build"]["warnings"] = len(re.findall(r"WARNING", text))
        result["steps"]["cold_build"]["failed_pages"] = failed_notebooks(text)
        print("cold build:", round(result["steps"]["cold_build"]["seconds"], 1), "s", flush=True)
        cmd = [jb, "build", "-W", "-n", "--keep-going", "--path-output", str(scratch), str(ROOT)]
        result["steps"]["rebuild_no_change"] = timed(cmd, logs / "rebuild.log")
        print("no-change rebuild:", round(result["steps"]["rebuild_no_change"]["seconds"], 1), "s", flush=True)
        result["scratch_build"] = str(scratch)
    cmd = [str(VENV_BIN / "pytest"), "--nbmake", "-n", "2", "chapters/", "--durations=0", "-q", "-p", "no:cacheprovider"]
    result["steps"]["nbmake"] = timed(cmd, logs / "nbmake.log")
    text = (logs / "nbmake.log").read_text(errors="replace")
    result["steps"]["nbmake"]["notebook_seconds"] = nbmake_durations(text)
    result["steps"]["nbmake"]["summary"] = (text.strip().splitlines() or [""])[-1]
    result["steps"]["nbmake"]["failed_pages"] = failed_notebooks(text)
    print("nbmake:", round(result["steps"]["nbmake"]["seconds"], 1), "s;", result["steps"]["nbmake"]["summary"], flush=True)
    result["machine"]["loadavg_end"] = loadavg()
    result["cpus_busy_note"] = (f"load average {info['loadavg_start']} at start, {loadavg()} at end, "
                                f"on {os.cpu_count()} CPUs")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk in ("seconds", "returncode")} for k, v in result["steps"].items()}, indent=1))
    print("per-notebook (nbmake):")
    for nb, s in result["steps"]["nbmake"]["notebook_seconds"].items():
        print(f"  {s:7.1f} s  {nb}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
