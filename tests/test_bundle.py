"""The notebook bundle the site offers (downloads/backprop-derived-notebooks.zip, made by
scripts/build_bundle.py) runs on its own: unpacked into an empty folder, with no checkout on
the path, the Linux/macOS commands of its HOW-TO-RUN.md create a fresh virtual environment and
install backprop_lib from the bundle's wheel with every pinned dependency; a chapter then runs
top to bottom with nbmake in that environment, importing backprop_lib from it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile

import pytest

pytestmark = pytest.mark.book

BUNDLE = "backprop-derived-notebooks"
CHAPTER = "03_one_neuron.ipynb"   # uses the library, SymPy, NumPy and PyTorch


def _clean_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "IPYTHONDIR", "PYTHONHOME") and not k.startswith("COV_")}
    # pip's wheel cache stays where it was (a second run need not download again); no user-level
    # Jupyter or IPython settings.
    env.setdefault("PIP_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "pip"))
    env["HOME"] = str(tmp_path / "home")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    return env


def test_bundle_runs_a_chapter_in_a_fresh_venv(built_book, tmp_path):
    archive = built_book / "html" / "downloads" / f"{BUNDLE}.zip"
    assert archive.is_file(), f"{archive} was not built (scripts/build_book.sh runs scripts/build_bundle.py)"
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        zf.extractall(tmp_path)
    top = tmp_path / BUNDLE
    for needed in ("HOW-TO-RUN.md", "requirements.txt", "constraints.txt", f"chapters/{CHAPTER}"):
        assert f"{BUNDLE}/{needed}" in names, f"the bundle lacks {needed}"
    assert any(re.fullmatch(rf"{BUNDLE}/wheels/backprop_lib-[^/]+\.whl", n) for n in names), "no backprop_lib wheel"

    # The reader's commands, as HOW-TO-RUN.md gives them, but the last (which opens JupyterLab).
    how_to = (top / "HOW-TO-RUN.md").read_text()
    block = re.search(r"```bash\n(.*?)```", how_to, re.S).group(1).strip().splitlines()
    assert block[-1].startswith(".venv/bin/jupyter lab"), block
    python = f"{os.path.basename(sys.executable)}"
    commands = "\n".join(block[:-1]).replace("python3 -m venv", f"{sys.executable} -m venv")
    env = _clean_env(tmp_path)
    (tmp_path / "home").mkdir()
    install = subprocess.run(["bash", "-euxo", "pipefail", "-c", commands], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=1500)
    assert install.returncode == 0, f"installing from the bundle failed ({python}):\n{install.stderr[-3000:]}"

    venv_python = top / ".venv" / "bin" / "python"
    where = subprocess.run([str(venv_python), "-c", "import backprop_lib; print(backprop_lib.__file__)"],
                           cwd=top, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(top / ".venv")), f"backprop_lib imported from {where}, not from the bundle's venv"

    # nbmake is the test tool, not something a reader needs: installed for the test only.
    subprocess.run([str(venv_python), "-m", "pip", "install", "-q", "-c", "constraints.txt", "nbmake"],
                   cwd=top, env=env, check=True, capture_output=True, timeout=600)
    run = subprocess.run([str(venv_python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbmake",
                          "--nbmake-timeout=600", f"chapters/{CHAPTER}"],
                         cwd=top, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"{CHAPTER} failed in the bundle's venv:\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}"
    assert "1 passed" in run.stdout, run.stdout[-500:]
