"""Synthetic task families: importing this package registers every family."""
from . import classify, grids, text  # noqa: F401  (registration side effects)
from . import formats  # noqa: F401,I001  (after the first ones: families added later keep the older ones' order)
from . import names_and_units  # noqa: F401,I001  (each later file after the earlier ones, for the same reason)
from . import conversions  # noqa: F401,I001
from . import ciphers_and_sequences  # noqa: F401,I001
from . import relations  # noqa: F401,I001
from . import lexical  # noqa: F401,I001
from . import spelling  # noqa: F401,I001
from .registry import (ADAPT_SEEDS, EVAL_SEED0, FAMILIES, Family, families, family, get_family, make_task,
                       register, sample_tasks)

__all__ = ["ADAPT_SEEDS", "EVAL_SEED0", "FAMILIES", "Family", "families", "family", "get_family",
           "make_task", "register", "sample_tasks"]
