"""Every TTTC_* setting, declared once: its type, its default and what it does (read from the environment).

`settings()` reads the environment afresh on each call, so a changed variable takes effect at the next
model load, cache or request that reads it. A bad value is a one-line ValueError naming the variable.
The README's settings table lists the same fields (tests/test_settings.py checks that it does).
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "TTTC_"
DEFAULT_DB = "sqlite:///tttc.db"              # the outcome log of commands that read one
DEFAULT_THREAD_DB = "tttc_threads.sqlite"     # the chat thread store, beside the default outcome log
INFER_DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16"}


class Settings(BaseSettings):
    """The environment variables of ttt-controller; each field is `TTTC_<NAME>`."""
    model_config = SettingsConfigDict(env_prefix=PREFIX, env_ignore_empty=True, extra="ignore")

    model: str | None = Field(None, description="default model: an embedded name (gemma3-270m, smollm2), a local "
                                                "Hugging Face folder, or `tiny` (random weights: plumbing only)")
    cache: Path = Field(Path.home() / ".cache" / "ttt-controller",
                        description="where the embedded models are unpacked as safetensors (`make clean-cache` empties it)")
    no_adapter: bool = Field(False, description="1: load an embedded model without merging its adaptation adapter")
    db: str | None = Field(None, description="outcome-log SQLAlchemy URL; `tttc collect/report/train-router` default "
                                             f"to {DEFAULT_DB}, the agent logs only when this or --db is set")
    thread_db: str | None = Field(None, description="chat thread store: a SQLite path, sqlite:/// or postgres:// URL "
                                                    f"(default {DEFAULT_THREAD_DB})")
    torch_threads: int | None = Field(None, ge=1, description="torch threads per process (default: torch's, all "
                                                              "cores); 1 when several model processes share a machine")
    threads: str | None = Field(None, description="old name: a number is read as TTTC_TORCH_THREADS, anything else "
                                                  "as TTTC_THREAD_DB (with a warning)")
    router_dir: Path | None = Field(None, description="router bundle to route with, and `tttc train-router`'s "
                                                      "default --out (default: the shipped one in policies/shipped/)")
    device: str = Field("auto", description="where models run: auto (CUDA when torch sees a GPU, else CPU), cpu, "
                                            "cuda or cuda:N; a GPU loads the weights in bf16 where it supports it")
    infer_dtype: str = Field("float32", description="generation dtype on CPU: float32, or bfloat16 (faster; "
                                                    "answers not bit-for-bit fp32's; rows logged under model@bf16)")
    draft_width: int = Field(4, description="tokens fed per grid row and decode step, drafts included (1 turns "
                                            "drafting off)")
    prefix_cache_mb: float = Field(1024.0, description="memory for the key/value caches of prompt prefixes, in MB "
                                                       "(0 turns the prompt cache off)")
    api_key: str | None = Field(None, description="when set, every /v1 route of `tttc serve` needs "
                                                  "`Authorization: Bearer <key>`")
    debug: bool = Field(False, description="1: print tracebacks instead of one-line errors, and library warnings on "
                                           "stderr as well as in the debug log")
    debug_log: Path | None = Field(None, description="file that library warnings and logs go to (default: "
                                                     "tttc-debug.log in TTTC_CACHE)")

    @field_validator("infer_dtype", mode="before")
    @classmethod
    def _dtype(cls, raw: Any) -> str:
        name = INFER_DTYPES.get(str(raw).strip().lower())
        if name is None:
            raise ValueError(f"TTTC_INFER_DTYPE={raw!r}: expected float32 or bfloat16 (also fp32, bf16)")
        return name

    @field_validator("device", mode="before")
    @classmethod
    def _device(cls, raw: Any) -> str:
        name = str(raw).strip().lower()
        if name in ("auto", "cpu", "cuda") or (name.startswith("cuda:") and name[5:].isdigit()):
            return name
        raise ValueError(f"TTTC_DEVICE={raw!r}: expected auto, cpu, cuda or cuda:N")

    @field_validator("draft_width", mode="before")
    @classmethod
    def _width(cls, raw: Any) -> int:
        try:
            width = int(raw)
        except (TypeError, ValueError):
            width = 0
        if width < 1:
            raise ValueError(f"TTTC_DRAFT_WIDTH={raw!r}: expected a whole number >= 1 (1 turns drafting off)")
        return width

    @field_validator("prefix_cache_mb", mode="before")
    @classmethod
    def _megabytes(cls, raw: Any) -> float:
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"TTTC_PREFIX_CACHE_MB={raw!r}: expected megabytes as a number "
                             f"(0 turns the prefix cache off)") from None

    def torch_thread_count(self) -> int | None:
        """TTTC_TORCH_THREADS, else the old TTTC_THREADS when it is a whole number."""
        if self.torch_threads is not None:
            return self.torch_threads
        if self.threads is not None and self.threads.strip().isdigit() and int(self.threads) >= 1:
            return int(self.threads)
        return None

    def thread_store(self) -> str:
        """TTTC_THREAD_DB, else the old TTTC_THREADS when it is not a number (warned), else the default file."""
        if self.thread_db:
            return self.thread_db
        old = (self.threads or "").strip()
        if old and not old.isdigit():
            warnings.warn(f"TTTC_THREADS={old!r} read as the chat thread store; set TTTC_THREAD_DB instead "
                          f"(TTTC_THREADS now means torch threads only)", FutureWarning, stacklevel=2)
            return old
        return DEFAULT_THREAD_DB

    def outcome_db(self, given: str | None = None) -> str:
        """The outcome log a reader or collector opens: `given`, else TTTC_DB, else sqlite:///tttc.db."""
        return given or self.db or DEFAULT_DB


def settings() -> Settings:
    """The settings as the environment holds them now; a bad value is a ValueError naming its variable."""
    try:
        return Settings()
    except ValidationError as e:
        err = e.errors()[0]
        cause = (err.get("ctx") or {}).get("error")
        if cause is not None:
            raise ValueError(str(cause)) from None
        name = PREFIX + "_".join(str(p) for p in err.get("loc", ())).upper()
        raise ValueError(f"{name}={err.get('input')!r}: {err.get('msg')}") from None


def table() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) for every setting, in declaration order: the README's table."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default
        if default is None:
            shown = "unset"
        elif isinstance(default, (bool, float)):
            shown = str(int(default))   # how one writes it in the environment: 0/1, 1024
        else:
            shown = str(default).replace(str(Path.home()), "~")
        rows.append((PREFIX + name.upper(), shown, field.description or ""))
    return rows
