"""Synthetic task families: importing this package registers every family."""
from . import classify, grids, text  # noqa: F401  (registration side effects)
from . import formats  # noqa: F401,I001  (after the first ones: families added later keep the older ones' order)
from . import strings  # noqa: F401,I001  (session 7's, last for the same reason)
from . import records  # noqa: F401,I001  (session 7's out-of-sample check, after the router was shipped)
from . import puzzles  # noqa: F401,I001  (session 8's out-of-sample check: other kinds of text task)
from . import relations  # noqa: F401,I001  (session 9's out-of-sample check: new kinds again)
from . import lexical  # noqa: F401,I001  (late session 9: the out-of-sample check of the router retrained then)
from . import spelling  # noqa: F401,I001  (session 10: the out-of-sample check of the learnability probe)
from .registry import (ADAPT_SEEDS, EVAL_SEED0, FAMILIES, Family, families, family, get_family, make_task,
                       register, sample_tasks)

__all__ = ["ADAPT_SEEDS", "EVAL_SEED0", "FAMILIES", "Family", "families", "family", "get_family",
           "make_task", "register", "sample_tasks"]
