"""`tttc`, the command line: dispatch.py parses and dispatches; one thin file per command, imported only when named."""
from .dispatch import main

__all__ = ["main"]
