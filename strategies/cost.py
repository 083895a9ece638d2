"""The cost record every model call and every strategy result carries."""
from __future__ import annotations

from pydantic import BaseModel


class Cost(BaseModel):
    """What an answer cost. FLOPs are estimates: 2*params*tokens to infer, 6*params*tokens to train."""
    wall_s: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_trained: int = 0
    flops: float = 0.0
    steps: int = 0
    decide_s: float = 0.0   # of wall_s, the seconds spent choosing the strategy (features, router)

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(**{k: getattr(self, k) + getattr(other, k) for k in Cost.model_fields})

    @staticmethod
    def inference(params: int, tokens_in: int, tokens_out: int, wall_s: float) -> "Cost":
        return Cost(wall_s=wall_s, tokens_in=tokens_in, tokens_out=tokens_out,
                    flops=2.0 * params * (tokens_in + tokens_out))

    @staticmethod
    def training(params: int, tokens: int, steps: int, wall_s: float) -> "Cost":
        return Cost(wall_s=wall_s, tokens_trained=tokens, steps=steps, flops=6.0 * params * tokens)
