"""Model runtime: load any HF causal LM, batched greedy generation, answer scoring; every call returns its cost."""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ContextManager, Hashable, Iterator, Sequence

import torch

from . import decode
from ..cost import Cost
from .kv import cache_kwarg, output_cache
from .precision import Bf16Copies, inference_precision, infer_dtype_from_env
from .prompt_cache import PrefixCache, Split, split_prompts
from ..serialize import is_complete
from ..settings import settings
from ..task import Kind


def pick_device(device: str | None = None) -> torch.device:
    """`device` (else $TTTC_DEVICE): "auto" is CUDA when torch sees a GPU, else the CPU."""
    threads = settings().torch_thread_count()
    if threads:  # several model processes on few cores: torch's default (all cores each) thrashes
        torch.set_num_threads(threads)
    device = device or settings().device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r}: this torch sees no CUDA GPU (a CPU build, or no driver); "
                           f"use TTTC_DEVICE=auto or cpu")
    return torch.device(device)


def load_dtype(device: torch.device) -> torch.dtype:
    """bf16 on a GPU that supports it (half the memory, tensor cores); fp32 elsewhere."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def draft_width_from_env() -> int:
    """$TTTC_DRAFT_WIDTH (strategies/settings.py); eval/RESULTS.md "Drafted grid decoding" has the measurements."""
    return settings().draft_width


@dataclass
class Generation:
    texts: list[str]
    first_token_entropy: list[float]   # nats, of the first generated token's distribution
    cost: Cost
    cached_tokens: int = 0             # prompt tokens whose keys/values came from the prefix cache


@dataclass
class Runtime:
    """A model plus its tokenizer. Generation runs in fp32 on CPU (bf16 on GPU); `infer_dtype` bfloat16
    (`$TTTC_INFER_DTYPE`) runs it in bf16 on CPU too: faster, answers not bit-for-bit fp32's.
    Scoring (`token_logprobs`, the routing features) always runs in the model's own dtype."""
    model: torch.nn.Module
    tokenizer: object
    model_id: str
    device: torch.device
    adapter: str | None = None   # the adaptation adapter merged in at load (its folder name), if any
    n_params: int = field(init=False)
    prefix_cache: PrefixCache = field(default_factory=PrefixCache, repr=False)
    # grid answers: tokens fed per row and decode step, drafts included (strategies/runtime/speculative.py); 1 = plain
    draft_width: int = field(default_factory=draft_width_from_env, repr=False)
    infer_dtype: torch.dtype = field(default_factory=infer_dtype_from_env, repr=False)
    _grid_ids: torch.Tensor | None = field(default=None, init=False, repr=False)
    _bf16_copies: Bf16Copies = field(default_factory=Bf16Copies, init=False, repr=False)
    _modified: int = field(default=0, init=False, repr=False)   # open `weights_modified` blocks

    def __post_init__(self) -> None:
        self.n_params = sum(p.numel() for p in self.model.parameters())
        first = next(self.model.parameters(), None)
        if self.infer_dtype == torch.bfloat16 and first is not None and first.dtype == torch.float32:
            # other answers than fp32's: their outcome rows (and routers trained on them) stay apart
            self.model_id = f"{self.model_id}@bf16"
        if self.tokenizer.pad_token_id is None:   # padding is masked out: any token serves; eos is always there
            if self.tokenizer.eos_token is None:
                raise ValueError(f"{self.model_id}: its tokenizer has neither a pad nor an end-of-text token")
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model.eval()

    @classmethod
    def load(cls, model: str | None = None, device: str | None = None, adapter: bool = True) -> "Runtime":
        """Load an embedded model by name (default: strategies.runtime.models.DEFAULT_MODEL) or a local HF folder; merge its adapter."""
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from .models import ModelNotFound, first_line, resolve
        hf_logging.disable_progress_bar()   # a per-tensor "Loading weights" bar on every `tttc ask`: noise in a CLI
        path, model_id, adapter_dir = resolve(model)
        dev = pick_device(device)
        try:
            tok = AutoTokenizer.from_pretrained(path)
            net = AutoModelForCausalLM.from_pretrained(path, dtype=load_dtype(dev)).to(dev)
        except (OSError, ValueError, KeyError) as e:
            raise ModelNotFound(f"--model {str(path)!r}: cannot load it as a causal LM with its tokenizer: "
                                f"{first_line(e)}") from None
        if adapter and adapter_dir is not None:
            import warnings

            from peft import PeftModel
            with warnings.catch_warnings():   # peft reads a property transformers has deprecated
                warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
                net = PeftModel.from_pretrained(net, adapter_dir).merge_and_unload()
            model_id = f"{model_id}+{adapter_dir.name}"
        return cls(net, tok, model_id, dev, adapter=adapter_dir.name if adapter and adapter_dir else None)

    @classmethod
    def from_pretrained_objects(cls, model, tokenizer, model_id: str = "custom") -> "Runtime":
        return cls(model, tokenizer, model_id, next(model.parameters()).device)

    # -- the weights' name for the prefix cache ------------------------------------------------
    def base_tag(self) -> Hashable | None:
        """The prefix cache's name for this runtime's own weights (ICL answers cache their demonstrations
        under it), or None while they are not its own: inside `weights_modified` (a TTT adapter attached
        or folded in, strategies/ttt/adapters.py) or with a peft model in place."""
        if self._modified or hasattr(self.model, "peft_config"):
            return None
        return ("base", self.model_id)

    @contextmanager
    def weights_modified(self) -> Iterator[None]:
        """While inside, `base_tag` is None: the model answers with other weights than its own."""
        self._modified += 1
        try:
            yield
        finally:
            self._modified -= 1

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
                 batch_size: int = 8, prefix_chars: Sequence[int] | None = None,
                 cache_tag: Hashable | None = None) -> Generation:
        """Greedy answers, stopping at the end-of-answer marker or at each prompt's own token cap.

        With `prefix_chars` (per prompt, how many leading characters stay the same across calls: the
        demonstrations) and a `cache_tag` naming the weights, a batch that fits in one call keeps its
        prefixes' key/value cache (strategies/runtime/prompt_cache.py) and a later call with the same prefixes
        prefills only the rest. The answers are the same either way.
        """
        start = time.perf_counter()
        if cache_tag is not None and self.infer_dtype != torch.float32:   # other weights, other keys/values
            cache_tag = (cache_tag, str(self.infer_dtype))
        with self.generation_precision():
            return self._generate(prompts, kind, max_new_tokens, batch_size, prefix_chars, cache_tag, start)

    def generation_precision(self, dtype: torch.dtype | None = None) -> ContextManager[None]:
        """The weights as generation uses them (`dtype`, default `infer_dtype`; strategies/runtime/precision.py)."""
        return inference_precision(self.model, self.infer_dtype if dtype is None else dtype, self._bf16_copies)

    def _generate(self, prompts: Sequence[str], kind: Kind, max_new_tokens: Sequence[int] | int, batch_size: int,
                  prefix_chars: Sequence[int] | None, cache_tag: Hashable | None, start: float) -> Generation:
        caps = [max_new_tokens] * len(prompts) if isinstance(max_new_tokens, int) else list(max_new_tokens)
        texts, entropy = [""] * len(prompts), [0.0] * len(prompts)
        tokens_in = tokens_out = 0
        cached = 0
        split = None
        if (prefix_chars is not None and cache_tag is not None and 0 < len(prompts) <= batch_size
                and self.prefix_cache.enabled):
            split = split_prompts(self.tokenizer, prompts, prefix_chars)
            if not all(split.prefixes):   # a row with nothing to cache: the plain path
                split = None
        if split is not None:
            ids, mask, past, cached = self._cached_prompt(cache_tag, split)
            batches = [(list(range(len(prompts))), ids, mask, past)]
            lengths = [len(p) + len(t) for p, t in zip(split.prefixes, split.tails)]
        else:
            encoded = [self.encode(p) for p in prompts]
            lengths = [len(e) for e in encoded]
            order = sorted(range(len(prompts)), key=lambda i: lengths[i])  # similar lengths pad less
            batches = [(idx, *self._batch([encoded[i] for i in idx], left=True), None)
                       for idx in (order[b:b + batch_size] for b in range(0, len(order), batch_size))]
        for idx, ids, mask, past in batches:
            new_tokens, ent = self._greedy(ids, mask, [caps[i] for i in idx], kind, past)
            for j, i in enumerate(idx):
                texts[i], entropy[i] = self.tokenizer.decode(new_tokens[j]), ent[j]
                tokens_in += lengths[i]
                tokens_out += len(new_tokens[j])
        cost = Cost.inference(self.n_params, tokens_in - cached, tokens_out, time.perf_counter() - start)
        return Generation(texts, entropy, cost, cached_tokens=cached)

    def _cached_prompt(self, tag: Hashable, split: Split) -> tuple[torch.Tensor, torch.Tensor, Any, int]:
        """The batch's ids and mask (prefixes, then tails, each left-padded) with a model cache that already
        holds every prompt token but each row's last, and how many of them came from the prefix cache.

        Two entries per call: the prefixes alone (a follow-up with a new query reuses them) and the whole
        prompts less their last token (a repeated query then prefills nothing; its first answer token still
        comes from the model, on the last prompt token)."""
        bodies = tuple(t[:-1] for t in split.tails)
        pre_ids, pre_mask = self._batch(split.prefixes, left=True)
        body_ids, body_mask = self._batch([b or [self.tokenizer.pad_token_id] for b in bodies], left=True)
        for i, b in enumerate(bodies):
            if not b:                     # a one-token tail: no body, one masked pad column
                body_mask[i] = 0
        last = torch.tensor([[t[-1]] for t in split.tails], dtype=torch.long, device=self.device)
        ids = torch.cat([pre_ids, body_ids, last], 1)
        mask = torch.cat([pre_mask, body_mask, torch.ones_like(last)], 1)
        n_pre = sum(len(p) for p in split.prefixes)
        whole_key = (tag, split.prefixes, bodies)
        past = self.prefix_cache.get(whole_key)
        if past is not None:
            return ids, mask, past, n_pre + sum(len(b) for b in bodies)
        past, cached = self._kv(tag, split.prefixes, pre_ids, pre_mask)   # the demonstrations' entry
        if any(bodies):
            width = pre_ids.shape[1] + body_ids.shape[1]
            self._prefill(ids[:, pre_ids.shape[1]:width], mask[:, :width], past)
            self.prefix_cache.put(whole_key, past)
        return ids, mask, past, cached

    def _kv(self, tag: Hashable, prefixes: tuple, ids: torch.Tensor, mask: torch.Tensor) -> tuple[Any, int]:
        """The model cache of the batch's left-padded `prefixes` (`ids`, `mask`), from the prefix cache or
        computed now (and kept); with the number of prompt tokens that did not need computing."""
        from transformers import DynamicCache
        key = (tag, prefixes)
        past = self.prefix_cache.get(key)
        if past is not None:
            return past, sum(len(p) for p in prefixes)
        past = DynamicCache(config=self.model.config)
        self._prefill(ids, mask, past)
        self.prefix_cache.put(key, past)
        return past, 0

    def _prefill(self, ids: torch.Tensor, mask: torch.Tensor, past: Any) -> None:
        """Run `ids` (the last columns of `mask`) into `past`. Only the key/value cache is wanted: no
        logits (a full prompt's are ~1 TFLOP of output layer on Gemma's 262k vocabulary for 8 views of a
        grid task)."""
        positions = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)[:, -ids.shape[1]:]   # as generate() numbers them
        parts = decode.decoder_and_head(self.model)
        if parts is not None:
            parts[0](input_ids=ids, attention_mask=mask, position_ids=positions, **cache_kwarg(parts[0], past),
                     use_cache=True)
        else:
            self.model(input_ids=ids, attention_mask=mask, position_ids=positions, **cache_kwarg(self.model, past),
                       use_cache=True, logits_to_keep=1)

    def _greedy(self, ids: torch.Tensor, mask: torch.Tensor, caps: list[int], kind: Kind,
                past: Any = None) -> tuple[list[list[int]], list[float]]:
        """One batched greedy decode (strategies/runtime/decode.py): each row's new tokens and first-token entropy.
        Grid answers choose among digit and newline tokens only."""
        from .decode import greedy
        tok = self.tokenizer
        allowed = self.grid_token_ids() if kind == "grid" else None
        return greedy(self.model, ids, mask, caps, lambda t: is_complete(tok.decode(t), kind),
                      allowed=allowed, past=past, draft_width=self.draft_width)

    def grid_token_ids(self) -> torch.Tensor:
        """The vocabulary entries a grid answer may use (computed once per runtime)."""
        if self._grid_ids is None:
            from .decode import grid_token_ids
            self._grid_ids = grid_token_ids(self.tokenizer)
        return self._grid_ids

    # -- scoring --------------------------------------------------------------------------------
    @torch.inference_mode()
    def token_logprobs(self, prompts: Sequence[str], answers: Sequence[str],
                       batch_size: int = 8) -> tuple[list[list[float]], Cost]:
        """log P(answer token | prompt, earlier answer tokens) for every answer token.

        The output layer runs at the answer positions only where the model allows it: at every prompt
        position it would be most of the work on a large vocabulary (Gemma 3: 262k x 640 per token)."""
        start = time.perf_counter()
        pairs = [(self.encode(p), self.encode(a)) for p, a in zip(prompts, answers)]
        out: list[list[float]] = [[] for _ in pairs]
        tokens = 0
        parts = decode.decoder_and_head(self.model)
        for b in range(0, len(pairs), batch_size):
            chunk = pairs[b:b + batch_size]
            ids, mask = self._batch([p + a for p, a in chunk], left=False)
            # the token at position t is predicted at t-1; answers start at len(p)
            spans = [range(max(len(p), 1) - 1, len(p) + len(a) - 1) for p, a in chunk]
            if parts is None:
                logits = self.model(input_ids=ids, attention_mask=mask).logits.float()
                logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:, None])[..., 0]
                picked = [logp[j, span.start:span.stop] for j, span in enumerate(spans)]
            else:
                hidden = parts[0](input_ids=ids, attention_mask=mask).last_hidden_state
                rows = torch.tensor([j for j, span in enumerate(spans) for _ in span], dtype=torch.long, device=ids.device)
                cols = torch.tensor([t for span in spans for t in span], dtype=torch.long, device=ids.device)
                head = parts[1]
                logits = torch.nn.functional.linear(hidden[rows, cols].to(head.weight.dtype), head.weight,
                                                    head.bias).float()
                flat = torch.log_softmax(logits, dim=-1).gather(-1, ids[rows, cols + 1][:, None])[:, 0]
                picked = list(flat.split([len(span) for span in spans]))
            for j, (p, a) in enumerate(chunk):
                out[b + j] = picked[j].tolist()
                tokens += len(p) + len(a)
        return out, Cost.inference(self.n_params, tokens, 0, time.perf_counter() - start)

    @torch.inference_mode()
    def choice_logprobs(self, prompt: str, choices: Sequence[str]) -> tuple[list[float], Cost]:
        """Sum of log P(choice tokens | prompt) for each choice. The prompt is prefilled once and its
        key/value cache copied for each choice, so k short choices cost about one prompt, not k."""
        import copy
        start = time.perf_counter()
        p = self.encode(prompt)
        tokens = len(p)
        out: list[float] = []
        with self.generation_precision():
            first = self.model(input_ids=torch.tensor([p], device=self.device), use_cache=True, logits_to_keep=1)
            head = torch.log_softmax(first.logits[0, -1].float(), dim=-1)
            for choice in choices:
                full = self.encode(prompt + choice)
                cont = full[len(p):] if full[:len(p)] == p else self.encode(choice)
                total = float(head[cont[0]]) if cont else 0.0
                if len(cont) > 1:
                    step = self.model(input_ids=torch.tensor([cont[:-1]], device=self.device),
                                      **cache_kwarg(self.model, copy.deepcopy(output_cache(first))),
                                      use_cache=True)
                    lps = torch.log_softmax(step.logits[0].float(), dim=-1)
                    total += float(sum(lps[j, cont[j + 1]] for j in range(len(cont) - 1)))
                out.append(total)
                tokens += len(cont)
        return out, Cost.inference(self.n_params, tokens, 0, time.perf_counter() - start)

    def score(self, prompts: Sequence[str], answers: Sequence[str]) -> tuple[list[float], Cost]:
        """Sum of answer log-probabilities, one per (prompt, answer) pair."""
        lps, cost = self.token_logprobs(prompts, answers)
        return [sum(lp) for lp in lps], cost


def tiny_runtime(seed: int = 0, vocab_from: Path | None = None) -> Runtime:
    """A random 2-layer Llama with SmolLM2's tokenizer, for plumbing tests (seconds, no real answers)."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from .models import TOKENIZER_FOR_TESTS, build_cache
    tok = AutoTokenizer.from_pretrained(vocab_from or build_cache(TOKENIZER_FOR_TESTS))
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                      pad_token_id=tok.pad_token_id or tok.eos_token_id, eos_token_id=tok.eos_token_id)
    return Runtime(LlamaForCausalLM(cfg), tok, "tiny-random-llama", torch.device("cpu"))
