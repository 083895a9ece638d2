"""What a strategy or a feature may ask of a runtime: the typing Protocol in their signatures.

strategies.runtime.runtime.Runtime implements it; a test double that answers these calls can stand in.
"""
from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Hashable, Protocol, Sequence, runtime_checkable

from ..cost import Cost
from ..task import Kind


@runtime_checkable
class ModelRuntime(Protocol):
    model: Any             # the torch module (TTT attaches adapters to it)
    tokenizer: Any
    model_id: str          # the key outcome rows and routers are stored under
    device: Any
    n_params: int

    def base_tag(self) -> Hashable | None:
        """What the prompt cache keys the current weights on (None while they are being modified)."""

    def weights_modified(self) -> AbstractContextManager[None]:
        """A block in which the weights differ from the base (cached prompts are not reused)."""

    def encode(self, text: str) -> list[int]: ...

    def generate(self, prompts: Sequence[str], kind: Kind, max_new_tokens: Sequence[int] | int,
                 batch_size: int = 8, prefix_chars: Sequence[int] | None = None,
                 cache_tag: Hashable | None = None) -> Any:
        """Greedy answers with their first-token entropies and cost (a runtime.Generation)."""

    def token_logprobs(self, prompts: Sequence[str], answers: Sequence[str],
                       batch_size: int = 8) -> tuple[list[list[float]], Cost]: ...

    def choice_logprobs(self, prompt: str, choices: Sequence[str]) -> tuple[list[float], Cost]:
        """Sum of log P(choice tokens | prompt) per choice, the prompt computed once."""

    def score(self, prompts: Sequence[str], answers: Sequence[str]) -> tuple[list[float], Cost]: ...
