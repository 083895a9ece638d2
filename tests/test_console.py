"""Quiet output: library warnings go to the debug log only; this project's warnings reach stderr, one line each."""
import logging
import warnings

import pytest

from controller import console


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """console.setup() as a new process would run it, logging to a debug log under tmp_path."""
    root = logging.getLogger()
    def ours():
        return [h for h in root.handlers if getattr(h, "_tttc", False)]
    for h in ours():
        root.removeHandler(h)
    monkeypatch.setenv("TTTC_DEBUG_LOG", str(tmp_path / "debug.log"))
    monkeypatch.delenv("TTTC_DEBUG", raising=False)
    yield tmp_path / "debug.log"
    for h in ours():
        h.close()
        root.removeHandler(h)
    logging.captureWarnings(False)
    from transformers.utils import logging as hf_logging   # as transformers leaves itself
    hf_logging.enable_default_handler()
    hf_logging.disable_propagation()


def test_a_library_warning_goes_to_the_debug_log_not_to_stderr(fresh, capsys):
    with warnings.catch_warnings():   # shown whatever earlier tests (or pytest's own capture) did to the filters
        warnings.simplefilter("always")
        logging.captureWarnings(False)   # another test's CLI run may have left it on, with pytest's recorder
        console.setup()
        warnings.warn("`past_key_values` is deprecated", FutureWarning)
    assert capsys.readouterr().err == ""
    assert "FutureWarning: `past_key_values` is deprecated" in fresh.read_text()


def test_a_warning_of_this_project_reaches_stderr_as_one_line(fresh, capsys):
    console.setup()
    logging.getLogger("strategies.task").warning("a.json: ignored unknown top-level key(s) ['uuid']")
    assert capsys.readouterr().err == "tttc: warning: a.json: ignored unknown top-level key(s) ['uuid']\n"


def test_a_library_log_record_stays_out_of_stderr(fresh, capsys):
    console.setup()
    logging.getLogger("urllib3.connectionpool").warning("retrying")
    assert capsys.readouterr().err == "" and "retrying" in fresh.read_text()


def test_transformers_own_handler_is_adopted_where_a_model_loads(fresh, capsys):
    from transformers.utils import logging as hf_logging
    console.setup()
    console.adopt_transformers()
    hf_logging.get_logger("transformers.modeling_utils").warning("some weights were not used")
    assert capsys.readouterr().err == "" and "some weights were not used" in fresh.read_text()


def test_setup_twice_adds_no_second_line(fresh, capsys):
    console.setup()
    console.setup()
    logging.getLogger("controller.x").warning("once")
    assert capsys.readouterr().err.count("once") == 1


def test_with_tttc_debug_library_warnings_reach_stderr_too(fresh, capsys, monkeypatch):
    monkeypatch.setenv("TTTC_DEBUG", "1")
    console.setup()
    logging.getLogger("urllib3").warning("noisy")
    assert "noisy" in capsys.readouterr().err
