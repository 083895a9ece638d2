"""`python -m controller.cli ...`: the same as `tttc ...`."""
import sys

from .dispatch import main

sys.exit(main())
