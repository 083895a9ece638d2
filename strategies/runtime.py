"""Model runtime: load any HF causal LM, batched greedy generation, answer scoring; every call returns its cost."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch

from .cost import Cost
from .serialize import is_complete
from .task import Kind


def pick_device(device: str | None = None) -> torch.device:
    threads = os.environ.get("TTTC_THREADS")
    if threads:  # several model processes on few cores: torch's default (all cores each) thrashes
        torch.set_num_threads(int(threads))
    if device and device != "auto":
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class Generation:
    texts: list[str]
    first_token_entropy: list[float]   # nats, of the first generated token's distribution
    cost: Cost


@dataclass
class Runtime:
    """A model plus its tokenizer. Generation runs in fp32 on CPU (bf16 on GPU)."""
    model: torch.nn.Module
    tokenizer: object
    model_id: str
    device: torch.device
    n_params: int = field(init=False)

    def __post_init__(self) -> None:
        self.n_params = sum(p.numel() for p in self.model.parameters())
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model.eval()

    @classmethod
    def load(cls, model: str | None = None, device: str | None = None, adapter: bool = True) -> "Runtime":
        """Load an embedded model by name (default SmolLM2) or a local HF folder; merge the shipped adapter."""
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from .models import resolve
        hf_logging.disable_progress_bar()   # a per-tensor "Loading weights" bar on every `tttc ask`: noise in a CLI
        path, model_id, adapter_dir = resolve(model)
        dev = pick_device(device)
        dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
        tok = AutoTokenizer.from_pretrained(path)
        net = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(dev)
        if adapter and adapter_dir is not None:
            import warnings

            from peft import PeftModel
            with warnings.catch_warnings():   # peft reads a property transformers has deprecated
                warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
                net = PeftModel.from_pretrained(net, adapter_dir).merge_and_unload()
            model_id = f"{model_id}+{adapter_dir.name}"
        return cls(net, tok, model_id, dev)

    @classmethod
    def from_pretrained_objects(cls, model, tokenizer, model_id: str = "custom") -> "Runtime":
        return cls(model, tokenizer, model_id, next(model.parameters()).device)

    # -- tokens ---------------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _batch(self, seqs: Sequence[list[int]], left: bool) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(s) for s in seqs)
        pad = self.tokenizer.pad_token_id
        ids = torch.full((len(seqs), width), pad, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for i, s in enumerate(seqs):
            sl = slice(width - len(s), width) if left else slice(0, len(s))
            ids[i, sl] = torch.tensor(s)
            mask[i, sl] = 1
        return ids.to(self.device), mask.to(self.device)

    # -- generation -----------------------------------------------------------------------------
    @torch.inference_mode()
    def generate(self, prompts: Sequence[str], kind: Kind, max_new_tokens: Sequence[int] | int,
                 batch_size: int = 8) -> Generation:
        """Greedy answers, stopping at the end-of-answer marker or at each prompt's own token cap."""
        from transformers import StoppingCriteria, StoppingCriteriaList

        start = time.perf_counter()
        caps = [max_new_tokens] * len(prompts) if isinstance(max_new_tokens, int) else list(max_new_tokens)
        encoded = [self.encode(p) for p in prompts]
        order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))  # similar lengths pad less
        texts, entropy = [""] * len(prompts), [0.0] * len(prompts)
        tokens_in = tokens_out = 0
        tok = self.tokenizer

        for b in range(0, len(order), batch_size):
            idx = order[b:b + batch_size]
            ids, mask = self._batch([encoded[i] for i in idx], left=True)
            width = ids.shape[1]
            row_caps = torch.tensor([caps[i] for i in idx], device=self.device)

            class _Stop(StoppingCriteria):
                def __call__(self, input_ids, scores, **kw):  # -> bool per row
                    new = input_ids[:, width:]
                    done = torch.tensor([is_complete(tok.decode(r), kind) for r in new], device=new.device)
                    return done | (new.shape[1] >= row_caps)

            out = self.model.generate(
                input_ids=ids, attention_mask=mask, max_new_tokens=int(row_caps.max()), do_sample=False,
                stopping_criteria=StoppingCriteriaList([_Stop()]), pad_token_id=tok.pad_token_id,
                output_scores=True, return_dict_in_generate=True)
            first = torch.log_softmax(out.scores[0].float(), dim=-1)
            ent = (-(first.exp() * first).sum(-1)).tolist()
            for j, i in enumerate(idx):
                new = out.sequences[j, width:].tolist()[:caps[i]]
                text = tok.decode(new)
                texts[i], entropy[i] = text, ent[j]
                tokens_in += len(encoded[i])
                tokens_out += len(new)
        cost = Cost.inference(self.n_params, tokens_in, tokens_out, time.perf_counter() - start)
        return Generation(texts, entropy, cost)

    # -- scoring --------------------------------------------------------------------------------
    @torch.inference_mode()
    def token_logprobs(self, prompts: Sequence[str], answers: Sequence[str],
                       batch_size: int = 8) -> tuple[list[list[float]], Cost]:
        """log P(answer token | prompt, earlier answer tokens) for every answer token."""
        start = time.perf_counter()
        pairs = [(self.encode(p), self.encode(a)) for p, a in zip(prompts, answers)]
        out: list[list[float]] = [[] for _ in pairs]
        tokens = 0
        for b in range(0, len(pairs), batch_size):
            chunk = pairs[b:b + batch_size]
            ids, mask = self._batch([p + a for p, a in chunk], left=False)
            logits = self.model(input_ids=ids, attention_mask=mask).logits.float()
            logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None])[..., 0]
            for j, (p, a) in enumerate(chunk):
                # the token at position t is predicted at t-1; answers start at len(p)
                out[b + j] = logp[j, len(p) - 1:len(p) + len(a) - 1].tolist()
                tokens += len(p) + len(a)
        return out, Cost.inference(self.n_params, tokens, 0, time.perf_counter() - start)

    def score(self, prompts: Sequence[str], answers: Sequence[str]) -> tuple[list[float], Cost]:
        """Sum of answer log-probabilities, one per (prompt, answer) pair."""
        lps, cost = self.token_logprobs(prompts, answers)
        return [sum(lp) for lp in lps], cost


def tiny_runtime(seed: int = 0, vocab_from: Path | None = None) -> Runtime:
    """A random 2-layer Llama with the embedded tokenizer, for plumbing tests (seconds, no real answers)."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from .models import DEFAULT_MODEL, build_cache
    tok = AutoTokenizer.from_pretrained(vocab_from or build_cache(DEFAULT_MODEL))
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                      pad_token_id=tok.pad_token_id or tok.eos_token_id, eos_token_id=tok.eos_token_id)
    return Runtime(LlamaForCausalLM(cfg), tok, "tiny-random-llama", torch.device("cpu"))
