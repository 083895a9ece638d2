"""The key/value cache goes in under the name the model's forward takes, whichever transformers is installed."""
import inspect
import logging

import torch

from strategies.runtime.kv import cache_kwarg, output_cache


def test_the_cache_goes_in_under_the_name_the_model_takes(tiny_rt):
    (name,) = cache_kwarg(tiny_rt.model, None)
    assert name in inspect.signature(tiny_rt.model.forward).parameters


def test_a_callable_that_only_knows_the_old_name_gets_the_old_name():
    def decoder(input_ids, past_key_values=None, use_cache=False):
        return past_key_values

    assert cache_kwarg(decoder, "kv") == {"past_key_values": "kv"}


def test_answering_logs_no_deprecation_line(tiny_rt, caplog):
    """Decoding, the prefix cache and option scoring all hand the cache over: none under a retired name."""
    from transformers import DynamicCache
    from transformers.utils import logging as hf_logging
    root = logging.getLogger("transformers")
    propagate = root.propagate
    hf_logging.enable_propagation()
    if hasattr(logging.Logger, "warning_once"):   # transformers' once-per-process memory: forget earlier lines
        logging.Logger.warning_once.cache_clear()
    try:
        with caplog.at_level(logging.WARNING):
            prompt = "in: good day\nout: GOOD DAY\nin: bye\nout:"
            tiny_rt.generate([prompt, prompt + " "], "text", 4, prefix_chars=[len("in: good day\n")] * 2)
            tiny_rt.choice_logprobs(prompt, [" BYE", " bye now"])
            ids = torch.tensor([tiny_rt.encode(prompt)])
            with torch.no_grad():
                out = tiny_rt.model(input_ids=ids, **cache_kwarg(tiny_rt.model, DynamicCache(config=tiny_rt.model.config)),
                                    use_cache=True)
            assert output_cache(out).get_seq_length() == ids.shape[1]
    finally:
        root.propagate = propagate
    assert not [r for r in caplog.records if "deprecated" in r.getMessage()]
