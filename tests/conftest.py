"""Shared fixtures: small tasks and runtimes (tiny random model for plumbing, the embedded model where needed)."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Tests route by the documented default rule unless they load a router themselves, so that shipping a
# newly trained router (policies/shipped/) never changes which graph path a plumbing test takes.
# tests/test_shipped_router.py checks the shipped one.
os.environ["TTTC_ROUTER_DIR"] = os.path.join(os.path.dirname(__file__), "no-router-here")


@pytest.fixture(scope="module")
def one_thread():
    """For tiny-model tests: their matrices are so small that OpenMP synchronisation costs more than the math."""
    import torch
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def tiny_rt():
    """The runtime `Context(model="tiny")` runs on (one per process, like every loaded model)."""
    from controller.context import TINY, load_runtime
    return load_runtime(TINY)


@pytest.fixture(scope="session")
def real_rt():
    """The embedded default model (Gemma 3 270M, its adapter merged); loads in seconds once cached."""
    from controller.context import load_runtime
    return load_runtime(None)


@pytest.fixture
def grid_task():
    from strategies.task import task_from_obj
    return task_from_obj({
        "train": [{"input": [[1, 2], [3, 4]], "output": [[2, 1], [4, 3]]},
                  {"input": [[5, 6, 7], [8, 9, 0]], "output": [[7, 6, 5], [0, 9, 8]]},
                  {"input": [[1, 0, 0]], "output": [[0, 0, 1]]}],
        "test": [{"input": [[3, 0], [0, 4]], "output": [[0, 3], [4, 0]]}]}, name="flip")


@pytest.fixture
def text_task():
    from strategies.task import task_from_obj
    return task_from_obj({
        "train": [{"input": "good day", "output": "GOOD DAY"}, {"input": "red fox", "output": "RED FOX"},
                  {"input": "blue sky", "output": "BLUE SKY"}, {"input": "old tree", "output": "OLD TREE"}],
        "test": [{"input": "hello world", "output": "HELLO WORLD"}]}, name="upper")
