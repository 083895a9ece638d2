"""Any Hugging Face causal LM on a local path: tiny random Llama, Qwen2 and GPT-2 folders load, answer by ICL and
train by TTT (LoRA targets found from the model); a folder that is not a usable causal LM is a one-line error."""
import json

import pytest
import torch

from strategies.icl import ICL, ICLConfig
from strategies.runtime import Runtime
from strategies.runtime.models import ModelNotFound
from strategies.ttt.adapters import param_fingerprint
from strategies.ttt.strategy import TTT, TTTConfig

pytestmark = pytest.mark.usefixtures("one_thread")

TINY_TTT = {"lora": {"rank": 4, "alpha": 8}, "train": {"max_steps": 2, "batch_tokens": 256, "bf16": False, "eval_every": 0},
            "data": {"n_augment": 2}, "n_views": 2, "cache": False}


def _config(arch: str, vocab: int, eos: int):
    import transformers
    ids = {"bos_token_id": eos, "eos_token_id": eos, "pad_token_id": eos}
    if arch == "gpt2":
        return transformers.GPT2Config(vocab_size=vocab, n_embd=32, n_layer=2, n_head=4, n_positions=1024, **ids)
    cls = {"llama": transformers.LlamaConfig, "qwen2": transformers.Qwen2Config}[arch]
    return cls(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
               num_key_value_heads=2, max_position_embeddings=1024, **ids)


@pytest.fixture(scope="module", params=["llama", "qwen2", "gpt2"])
def folder(request, tmp_path_factory):
    """A saved random model of that architecture with the embedded SmolLM2 tokenizer: a local HF folder."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from strategies.runtime.models import TOKENIZER_FOR_TESTS, build_cache
    tok = AutoTokenizer.from_pretrained(build_cache(TOKENIZER_FOR_TESTS))
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(_config(request.param, len(tok), tok.eos_token_id))
    out = tmp_path_factory.mktemp(request.param)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def loaded(folder):
    return Runtime.load(str(folder), device="cpu")


def test_a_local_folder_loads_under_its_path_without_an_adapter(loaded, folder):
    assert loaded.model_id == str(folder) and loaded.adapter is None
    assert loaded.tokenizer.pad_token_id is not None and loaded.device.type == "cpu"


@pytest.mark.parametrize("kind", ["grid", "text"])
def test_icl_answers_on_each_architecture(loaded, grid_task, text_task, kind):
    task = grid_task if kind == "grid" else text_task
    result = ICL(ICLConfig()).run(task, loaded)
    assert result.strategy == "icl" and len(result.attempts) == len(task.test)
    assert result.cost.tokens_in > 0 and result.cost.wall_s > 0


def test_ttt_trains_lora_on_each_architecture_and_restores_it(loaded, text_task):
    before = param_fingerprint(loaded.model)
    base = loaded.model
    result = TTT(TTTConfig(**TINY_TTT)).run(text_task, loaded)
    assert result.strategy == "ttt" and result.cost.tokens_trained > 0 and result.cost.steps == 2
    assert loaded.model is base and param_fingerprint(base) == before


def test_lora_targets_every_linear_layer_the_model_has(loaded):
    from strategies.ttt.adapters import LoraSettings, lora_targets
    targets = lora_targets(loaded.model, LoraSettings())
    names = {n.rsplit(".", 1)[-1] for n, _ in loaded.model.named_modules()}
    if "q_proj" in names:     # Llama and Qwen2 keep the named projections (the embedded models' figures)
        assert targets == LoraSettings().targets
    else:                     # GPT-2's fused Conv1D layers: peft finds them
        assert targets == "all-linear"


def test_a_folder_without_a_config_is_a_one_line_error(tmp_path):
    with pytest.raises(ModelNotFound, match="not a folder with a Hugging Face config.json"):
        Runtime.load(str(tmp_path))


def test_a_model_that_is_not_a_causal_lm_is_a_one_line_error(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "t5"}))
    with pytest.raises(ModelNotFound, match=r"'t5' model.*not a causal language model"):
        Runtime.load(str(tmp_path))


def test_a_config_without_weights_is_a_one_line_error(tmp_path, folder):
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    with pytest.raises(ModelNotFound, match="cannot load"):
        Runtime.load(str(tmp_path))


def test_a_cached_adapter_folds_into_each_architecture(loaded, text_task):
    # a cache hit adds the stored LoRA update to the plain weights (GPT-2's Conv1D holds them transposed)
    before = param_fingerprint(loaded.model)
    cfg = TTTConfig(**{**TINY_TTT, "cache": True})
    first = TTT(cfg).run(text_task, loaded)
    again = TTT(cfg).run(text_task, loaded)
    assert first.info["cache_hit"] is False and again.info["cache_hit"] is True
    assert again.attempts == first.attempts and param_fingerprint(loaded.model) == before
