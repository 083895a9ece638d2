"""The architecture as a test: import-linter's contracts in pyproject.toml (layers that run one way)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports({args}, no_cache=True))"   # no no_logo: import-linter 2.1, the floor, lacks it


def lint(where: Path, *contracts: str) -> subprocess.CompletedProcess:
    args = f"config_filename='pyproject.toml', limit_to_contracts={contracts!r}"
    return subprocess.run([sys.executable, "-c", LINT.format(args=args)], cwd=where, capture_output=True,
                          text=True, timeout=300)


def test_no_module_imports_a_layer_above_it():
    run = lint(REPO)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def test_an_import_running_back_up_breaks_the_contract(tmp_path):
    """The same contract on a four-package tree where the bottom layer imports the top one."""
    for package in ("controller", "eval", "policies", "strategies"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "eval" / "fine.py").write_text("import policies\nimport strategies\n")
    (tmp_path / "strategies" / "up.py").write_text("def f():\n    from controller import graph\n")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    run = lint(tmp_path, "layers")
    assert run.returncode == 1 and "BROKEN" in run.stdout
    assert "strategies.up -> controller" in run.stdout
