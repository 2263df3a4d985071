"""Every notebook in notebooks/ runs top to bottom (LEM_FAST=1: tiny settings) without an error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
GENERATED = ("01_quickstart.ipynb", "02_reproduce.ipynb", "03_explain.ipynb")
CELL_TIMEOUT = 300


def test_generated_notebooks_exist_and_match_their_generator():
    names = {p.name for p in NOTEBOOKS}
    assert set(GENERATED) <= names
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "make_notebooks.py"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", GENERATED)
def test_generated_notebooks_are_stored_without_outputs(name):
    notebook = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.slow  # runs every notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_without_errors(path, monkeypatch):
    monkeypatch.setenv("LEM_FAST", "1")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
        allow_errors=False,
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        pytest.fail(f"{path.name}: a cell failed:\n{str(error)[-4000:]}")
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors, errors
    executed = [c for c in notebook.cells if c.cell_type == "code"]
    assert executed and all(c.execution_count is not None for c in executed)


def test_quickstart_draws_the_training_curves_and_the_explanation():
    """Notebook 01 shows pictures: both losses and the phase per epoch, and Figure 4."""
    notebook = nbformat.read(NOTEBOOK_DIR / "01_quickstart.ipynb", as_version=4)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    for needed in ('h["classification_loss"]', 'h["reconstruction_loss"]', 'h["kl_loss"]', 'h["phase"]',
                   "draw_explanation(explanation)", "plt.show()"):
        assert needed in code, needed
