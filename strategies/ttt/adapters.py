"""Adapter lifecycle: attach a fresh named LoRA for one task, always detach it, and cache trained adapters."""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import warnings
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import torch
from pydantic import BaseModel, ConfigDict, Field
from ..runtime.protocol import ModelRuntime

ALL_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]  # Llama/Gemma/Qwen names
META_FILE = "ttt_meta.json"


class LoraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rank: int = Field(16, ge=1, description="LoRA rank r; higher: more capacity, more memory and time")
    alpha: float = Field(32.0, gt=0, description="LoRA alpha; the update is scaled by alpha / rank")
    dropout: float = Field(0.0, ge=0, lt=1, description="dropout on the LoRA input; a few dozen steps rarely need it")
    targets: list[str] = Field(default_factory=lambda: list(ALL_LINEAR),
                               description="module names to adapt (default: attention q,k,v,o and the MLP; a model "
                                           "without these names gets every linear layer but the output layer)")

    def peft_config(self, targets: list[str] | str | None = None):
        from peft import LoraConfig
        chosen = list(self.targets) if targets is None else targets
        return LoraConfig(r=self.rank, lora_alpha=self.alpha, lora_dropout=self.dropout,
                          target_modules=chosen, bias="none", task_type="CAUSAL_LM")


def lora_targets(model: torch.nn.Module, lora: LoraSettings) -> list[str] | str:
    """The modules a LoRA adapter on `model` targets: `lora.targets`, unless they are the default names and the
    model has none of them (GPT-2's fused layers, say); then peft's "all-linear" (every linear and Conv1D layer
    but the output layer). Llama, Gemma and Qwen2 keep the named projections, so their figures do not change."""
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    if lora.targets == ALL_LINEAR and not names & set(ALL_LINEAR):
        return "all-linear"
    return list(lora.targets)


def _base_name(name: str) -> str:
    """A parameter's name in the plain model, whether or not peft currently wraps it."""
    name = name.removeprefix("base_model.model.")
    return name.replace(".base_layer.", ".")


def param_fingerprint(model: torch.nn.Module) -> str:
    """sha256 over every base parameter's name, dtype, shape and bytes (LoRA weights skipped).

    Works on the plain model and on a peft-wrapped one alike, so it can check that training moved
    nothing but the adapter. ~1 s for 135M fp32 parameters.
    """
    h = hashlib.sha256()
    for name, p in sorted((_base_name(n), p) for n, p in model.named_parameters() if "lora_" not in n):
        t = p.detach().cpu().contiguous().reshape(-1)
        h.update(f"{name}|{t.dtype}|{tuple(p.shape)}\n".encode())
        h.update(t.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


@contextmanager
def weights_modified(runtime: ModelRuntime) -> Iterator[None]:
    """Tell the runtime that while inside, its model does not answer with its own weights (an adapter is
    attached or folded in), so that nothing is cached under its base weights' name (`Runtime.base_tag`)."""
    mark = getattr(runtime, "weights_modified", None)
    if mark is None:   # a stand-in runtime without a prefix cache
        yield
        return
    with mark():
        yield


@contextmanager
def attached(runtime: ModelRuntime, name: str, lora: LoraSettings) -> Iterator[Any]:
    """Attach a fresh LoRA adapter `name` to `runtime.model` and yield the peft model.

    While inside, `runtime.model` is the peft model, so `runtime.generate` and `runtime.score` use the
    adapter. On exit, with or without an exception, the adapter is deleted, peft's wrappers are
    unloaded, and `runtime.model` is the very same base object again, with its parameters untouched
    (peft writes to base weights only when merging, and `merged` below writes them back bit for bit) and its
    `requires_grad` flags, config and embedding hooks as they were.
    """
    from peft import get_peft_model
    from peft.tuners.tuners_utils import BaseTunerLayer

    base = runtime.model
    if any(isinstance(m, BaseTunerLayer) for m in base.modules()):
        raise RuntimeError("the runtime's model already carries an adapter; `attached` does not nest")
    grads = [(p, p.requires_grad) for p in base.parameters()]
    config_tp = getattr(base.config, "pretraining_tp", None)   # peft sets it to 1
    embed = base.get_input_embeddings()
    hooks_before = set(embed._forward_hooks)
    was_training = base.training

    with warnings.catch_warnings():   # peft reads a property transformers has deprecated
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        peft_model = get_peft_model(base, lora.peft_config(lora_targets(base, lora)), adapter_name=name)
    runtime.model = peft_model
    try:
        with weights_modified(runtime):
            yield peft_model
    finally:
        runtime.model = base
        peft_model.delete_adapter(name)
        restored = peft_model.unload()   # puts every wrapped Linear's original module back in place
        for p, flag in grads:
            p.requires_grad_(flag)
        if config_tp is not None:
            base.config.pretraining_tp = config_tp
        for key in set(embed._forward_hooks) - hooks_before:   # peft may add an input-grad hook
            del embed._forward_hooks[key]
        base.train(was_training)
        if restored is not base:  # never expected; fail loudly rather than serve a wrapped model
            raise RuntimeError("peft unload returned a different model object than the base")


@contextmanager
def _weights_restored(weights: list[torch.Tensor]) -> Iterator[None]:
    """Copy these weights on entry and write the copies back on exit, with or without an exception.

    Adding and later subtracting a LoRA update is not bit-exact in floating point; a copy is. It costs
    the weights' size in memory (~0.4 GB for SmolLM2-135M with every linear layer adapted)."""
    saved = [w.detach().clone() for w in weights]
    try:
        yield
    finally:
        with torch.no_grad():
            for w, copy in zip(weights, saved):
                w.copy_(copy)


@contextmanager
def merged(peft_model: Any, name: str) -> Iterator[None]:
    """Fold adapter `name` into the base weights while inside, for answering at the plain model's speed.

    An unmerged LoRA layer runs two extra small matmuls per call, which costs 15-20% of a greedy answer's
    time on CPU (measured on SmolLM2: an 8-view answer 4.8 -> 4.1 s, a grid's 21.3 -> 19.0 s).
    """
    from peft.tuners.lora.layer import LoraLayer

    layers = [m for m in peft_model.modules() if isinstance(m, LoraLayer) and name in m.lora_A]
    with _weights_restored([layer.get_base_layer().weight for layer in layers]):
        try:
            for layer in layers:
                layer.merge(adapter_names=[name])
            yield
        finally:
            for layer in layers:
                layer.merged_adapters.clear()


@contextmanager
def folded(model: torch.nn.Module, state: dict[str, torch.Tensor], lora: LoraSettings) -> Iterator[None]:
    """Add a stored adapter's update (alpha/r * B @ A, as peft merges it) into the plain model's weights
    while inside, and restore them bit for bit on exit.

    For a cache hit: answering needs no peft wrappers at all, which saves attaching and unloading them
    (~0.8 s of a ~3 s repeat on SmolLM2). `state` is a peft adapter state dict (keys
    `base_model.model.<module>.lora_A.weight` / `.lora_B.weight`)."""
    modules = dict(model.named_modules())
    scale = lora.alpha / lora.rank
    pairs = []
    for key, a in state.items():
        if not key.endswith(".lora_A.weight"):
            continue
        name = key.removeprefix("base_model.model.").removesuffix(".lora_A.weight")
        b = state.get(key.replace(".lora_A.", ".lora_B."))
        module = modules.get(name)
        if b is None or module is None or not hasattr(module, "weight"):
            raise RuntimeError(f"stored adapter does not fit this model: no layer {name!r} for {key!r}")
        # transformers' Conv1D (GPT-2) holds its weight as (in, out), the transpose of a Linear's
        transposed = type(module).__name__ == "Conv1D"
        pairs.append((module.weight, b, a, transposed))
    if not pairs:
        raise RuntimeError("stored adapter holds no LoRA weights")
    with _weights_restored([w for w, _, _, _ in pairs]):
        with torch.no_grad():
            for w, b, a, transposed in pairs:
                delta = (b.to(w.device, torch.float32) @ a.to(w.device, torch.float32)) * scale
                w.add_((delta.T if transposed else delta).to(w.dtype))
        yield


@contextmanager
def seeded(seed: int, device: Any) -> Iterator[None]:
    """Seed torch (LoRA init, dropout) inside, and give the caller its own random state back afterwards."""
    devices = [device.index or 0] if getattr(device, "type", "cpu") == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


# -- cache ------------------------------------------------------------------------------------------

def demos_hash(task: Any) -> str:
    """The part of a task that TTT trains on: its demonstrations (kind included), not its test inputs."""
    body = {"kind": task.kind, "train": [[e.input, e.output] for e in task.train]}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def cache_key(data_hash: str, config_json: str, model_id: str) -> str:
    return hashlib.sha256(f"{data_hash}\n{config_json}\n{model_id}".encode()).hexdigest()


class AdapterCache:
    """Trained adapters by key: an in-memory LRU of `size` entries, plus an optional folder on disk.

    Disk entries are peft `save_pretrained` folders (`<dir>/<key>/adapter_model.safetensors` and
    `adapter_config.json`) with a small `ttt_meta.json` of training statistics next to them.
    A hit loads the weights into an adapter that `attached` has just created with the same settings
    (the key covers the settings, so shapes always match).
    """

    def __init__(self, size: int = 4, disk: str | Path | None = None):
        self.size = size
        self.disk = Path(disk) if disk is not None else None
        self._mem: OrderedDict[str, tuple[dict[str, torch.Tensor], dict]] = OrderedDict()

    def get(self, key: str) -> tuple[dict[str, torch.Tensor], dict] | None:
        """The adapter state dict and metadata stored under `key` (memory first, then disk); None on a miss."""
        entry = self._mem.get(key)
        if entry is not None:
            self._mem.move_to_end(key)
        elif self.disk is not None and (self.disk / key / META_FILE).exists():
            from peft.utils import load_peft_weights
            folder = self.disk / key
            state = load_peft_weights(str(folder), device="cpu")
            entry = (state, json.loads((folder / META_FILE).read_text()))
            self._remember(key, entry)
        if entry is None:
            return None
        return entry[0], dict(entry[1])

    def load(self, key: str, peft_model: Any, name: str) -> dict | None:
        """Load the adapter stored under `key` into `peft_model`'s adapter `name`; its metadata, or None on a miss."""
        from peft import set_peft_model_state_dict
        entry = self.get(key)
        if entry is None:
            return None
        state, meta = entry
        result = set_peft_model_state_dict(peft_model, state, adapter_name=name)
        if getattr(result, "unexpected_keys", None):
            raise RuntimeError(f"cached adapter {key[:12]} does not fit: unexpected keys {result.unexpected_keys[:3]}")
        return dict(meta)

    def store(self, key: str, peft_model: Any, name: str, meta: dict) -> None:
        from peft import get_peft_model_state_dict
        state = {k: v.detach().cpu().clone() for k, v in get_peft_model_state_dict(peft_model, adapter_name=name).items()}
        self._remember(key, (state, dict(meta)))
        if self.disk is None:
            return
        self.disk.mkdir(parents=True, exist_ok=True)
        # save into a temporary folder, then rename: a reader never sees a half-written entry
        tmp = Path(tempfile.mkdtemp(dir=self.disk, prefix=".tmp-"))
        try:
            peft_model.save_pretrained(str(tmp), selected_adapters=[name])
            saved = tmp / name if (tmp / name).is_dir() else tmp   # peft nests non-default adapter names
            (saved / META_FILE).write_text(json.dumps(meta))
            target = self.disk / key
            if target.exists():
                shutil.rmtree(target)
            saved.rename(target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def __contains__(self, key: str) -> bool:
        return key in self._mem or (self.disk is not None and (self.disk / key / META_FILE).exists())

    def _remember(self, key: str, entry: tuple[dict, dict]) -> None:
        self._mem[key] = entry
        self._mem.move_to_end(key)
        while len(self._mem) > self.size:
            self._mem.popitem(last=False)


_CACHES: dict[str | None, AdapterCache] = {}


def shared_cache(disk: str | Path | None = None) -> AdapterCache:
    """One process-wide cache per disk folder (None: memory only), shared by every TTT strategy."""
    key = None if disk is None else str(Path(disk).expanduser().resolve())
    if key not in _CACHES:
        _CACHES[key] = AdapterCache(disk=key)
    return _CACHES[key]
