"""scripts/check_html.py catches what a strict Sphinx build cannot see."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_check(site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "check_html.py"), str(site)],
                          capture_output=True, text=True)


def page(site: Path, body: str) -> None:
    site.mkdir(parents=True, exist_ok=True)
    (site / "index.html").write_text(f"<html><head></head><body>{body}</body></html>")


def test_clean_page_passes(tmp_path):
    page(tmp_path, "<p>The loss is 0.25, not <code>np.float64(0.25)</code>.</p><pre>np.float64(0.25)</pre>")
    assert run_check(tmp_path).returncode == 0


def test_numpy_repr_in_prose_fails(tmp_path):
    page(tmp_path, "<p>The loss is np.float64(0.25).</p>")
    result = run_check(tmp_path)
    assert result.returncode == 1 and "NumPy scalar repr in prose" in result.stderr


def test_remote_script_and_katex_error_fail(tmp_path):
    page(tmp_path, '<script src="https://cdn.example.org/x.js"></script><span class="katex-error" title="bad">x</span>')
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert "loads from another host" in result.stderr and "KaTeX error: bad" in result.stderr


def test_empty_site_fails(tmp_path):
    assert run_check(tmp_path).returncode == 1
