"""Every setting is declared once (strategies/settings.py), typed, and listed in the README."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from strategies.settings import DEFAULT_THREAD_DB, settings, table

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture
def clean_env(monkeypatch):
    for name, _, _ in table():
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_number_in_the_old_threads_variable_sets_torch_threads_and_never_names_the_thread_store(clean_env):
    clean_env.setenv("TTTC_THREADS", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # a number is the documented torch meaning: no warning
        s = settings()
        assert s.torch_thread_count() == 1
        assert s.thread_store() == DEFAULT_THREAD_DB


def test_a_path_in_the_old_threads_variable_still_names_the_thread_store_with_a_warning(clean_env, tmp_path):
    old = str(tmp_path / "threads.sqlite")
    clean_env.setenv("TTTC_THREADS", old)
    s = settings()
    with pytest.warns(FutureWarning, match="TTTC_THREAD_DB"):
        assert s.thread_store() == old
    assert s.torch_thread_count() is None


def test_the_new_names_win_over_the_old_one(clean_env):
    clean_env.setenv("TTTC_THREADS", "3")
    clean_env.setenv("TTTC_TORCH_THREADS", "2")
    clean_env.setenv("TTTC_THREAD_DB", "postgresql://db/threads")
    s = settings()
    assert s.torch_thread_count() == 2 and s.thread_store() == "postgresql://db/threads"


def test_the_thread_store_opens_where_the_setting_says(clean_env, tmp_path):
    from controller.threads import open_checkpointer
    clean_env.setenv("TTTC_THREAD_DB", str(tmp_path / "t" / "threads.sqlite"))
    saver = open_checkpointer()
    saver.conn.close()
    assert (tmp_path / "t" / "threads.sqlite").exists()


def test_the_outcome_log_url_has_one_default(clean_env):
    assert settings().outcome_db() == "sqlite:///tttc.db"
    clean_env.setenv("TTTC_DB", "sqlite:///x.db")
    assert settings().outcome_db() == "sqlite:///x.db" and settings().outcome_db("sqlite:///y.db") == "sqlite:///y.db"


def test_a_bad_value_is_one_line_naming_the_variable(clean_env):
    clean_env.setenv("TTTC_TORCH_THREADS", "many")
    with pytest.raises(ValueError, match=r"^TTTC_TORCH_THREADS='many': "):
        settings()


def test_the_readme_lists_every_setting_with_its_default():
    text = README.read_text()
    for name, default, _ in table():
        row = re.search(rf"^\| `{name}` \| ([^|]*) \|", text, re.MULTILINE)
        assert row is not None, f"README.md: no settings-table row for {name}"
        assert default in row.group(1), f"README.md: {name}'s default is {default}, the table says {row.group(1)}"


def test_the_device_setting_takes_auto_cpu_and_cuda_and_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("TTTC_DEVICE", "CUDA:1")
    assert settings().device == "cuda:1"
    monkeypatch.setenv("TTTC_DEVICE", "gpu")
    with pytest.raises(ValueError, match=r"^TTTC_DEVICE='gpu': expected auto, cpu, cuda or cuda:N$"):
        settings()


def test_the_device_setting_picks_where_the_model_runs(monkeypatch):
    import torch

    from strategies.runtime.runtime import load_dtype, pick_device
    monkeypatch.setenv("TTTC_DEVICE", "cpu")
    assert pick_device().type == "cpu" and load_dtype(pick_device()) == torch.float32
    monkeypatch.setenv("TTTC_DEVICE", "auto")
    assert pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():   # a clear error rather than torch's deep one at the first tensor move
        monkeypatch.setenv("TTTC_DEVICE", "cuda")
        with pytest.raises(RuntimeError, match="sees no CUDA GPU"):
            pick_device()


@pytest.mark.skipif("not __import__('torch').cuda.is_available()", reason="needs a CUDA GPU")
def test_on_a_gpu_a_local_model_loads_in_bf16_and_answers(tmp_path, text_task):
    import torch

    from strategies.runtime import Runtime, tiny_runtime
    tiny = tiny_runtime()
    tiny.model.save_pretrained(tmp_path)
    tiny.tokenizer.save_pretrained(tmp_path)
    rt = Runtime.load(str(tmp_path), device="cuda")
    assert rt.device.type == "cuda" and next(rt.model.parameters()).dtype == torch.bfloat16
    from strategies.icl import ICL, ICLConfig
    assert len(ICL(ICLConfig()).run(text_task, rt).attempts) == 1
