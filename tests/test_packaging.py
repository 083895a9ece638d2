"""The wheel holds the code and what it loads (adapters, routers, presets, py.typed), and no results, logs or tests."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from strategies.runtime.models import EMBEDDED, adapter_dir

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(EMBEDDED))
def test_each_embedded_model_has_its_adapter_in_the_package(name):
    folder = adapter_dir(name)
    assert folder.is_relative_to(REPO / "strategies")           # package data, not a repository folder
    assert (folder / "adapter_config.json").is_file() and (folder / "adapter_model.safetensors").is_file()


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    # no build isolation: the installed setuptools, no download
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out)], check=True, cwd=build, capture_output=True)
    (wheel,) = out.glob("ttt_controller-*.whl")
    return set(zipfile.ZipFile(wheel).namelist())


def test_the_wheel_holds_what_the_code_loads(wheel_names):
    wanted = {"strategies/presets.yaml", "policies/shipped/router.json", "policies/shipped/manifest.json",
              "controller/demo_tasks/upper.json"}
    for name in EMBEDDED:
        wanted |= {f"strategies/runtime/adaptation/{name}-adapt/adapter_config.json",
                   f"strategies/runtime/adaptation/{name}-adapt/adapter_model.safetensors"}
    wanted |= {f"{package}/py.typed" for package in ("controller", "eval", "policies", "strategies")}
    assert wanted <= wheel_names


def test_the_wheel_leaves_results_logs_and_tests_out(wheel_names):
    unwanted = [n for n in wheel_names if n.startswith(("eval/results/", "eval/data/", "tests/", "models/"))]
    assert unwanted == []
