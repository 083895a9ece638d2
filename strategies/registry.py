"""The strategy library: kinds (code) and named presets (data, from presets.yaml or a user's YAML/JSON file)."""
from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

# kind -> (module, strategy class, config class); imported only when a strategy of that kind is built
KINDS: dict[str, tuple[str, str, str]] = {
    "zero-shot": ("strategies.zero_shot", "ZeroShot", "ZeroShotConfig"),
    "icl": ("strategies.icl", "ICL", "ICLConfig"),
    "icl-vote": ("strategies.icl_vote", "ICLVote", "ICLVoteConfig"),
    "ttt": ("strategies.ttt.strategy", "TTT", "TTTConfig"),
    "tlm": ("strategies.ttt.tlm", "TLM", "TLMConfig"),
}
PRESETS_FILE = Path(str(files(__package__) / "presets.yaml"))   # package data


class StrategyError(ValueError):
    pass


@dataclass(frozen=True)
class Spec:
    """A named strategy: its kind, its settings (validated against the kind's config) and a one-line help."""
    name: str
    kind: str
    settings: dict[str, Any]
    help: str = ""
    typical_cost: str = ""

    def config(self):
        module, _, config_cls = KINDS[self.kind]
        cls = getattr(importlib.import_module(module), config_cls)
        try:
            return cls(**self.settings)
        except Exception as e:  # pydantic ValidationError names the bad key
            raise StrategyError(f"strategy {self.name!r}: {_first_error(e)}") from None

    def build(self):
        module, strategy_cls, _ = KINDS[self.kind]
        return getattr(importlib.import_module(module), strategy_cls)(self.config(), name=self.name)


def _first_error(e: Exception) -> str:
    errors = getattr(e, "errors", None)
    if callable(errors):
        err = errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()))
        if err.get("type") == "extra_forbidden":
            return f"unknown key {where!r}"
        return f"{where}: {err.get('msg')}"
    return str(e)


class Registry:
    """Named strategies; a duplicate name is refused."""

    def __init__(self) -> None:
        self._specs: dict[str, Spec] = {}

    def add(self, spec: Spec, replace: bool = False) -> None:
        if spec.kind not in KINDS:
            raise StrategyError(f"strategy {spec.name!r}: unknown kind {spec.kind!r}; known kinds: {sorted(KINDS)}")
        if spec.name in self._specs and not replace:
            raise StrategyError(f"strategy {spec.name!r} is already registered")
        if spec.name == "auto":
            raise StrategyError("'auto' is reserved for the router")
        self._specs[spec.name] = spec

    def get(self, name: str) -> Spec:
        if name not in self._specs:
            raise StrategyError(f"unknown strategy {name!r}; known: {', '.join(self.names())}")
        return self._specs[name]

    def names(self) -> list[str]:
        return list(self._specs)

    def specs(self) -> list[Spec]:
        return list(self._specs.values())

    def load_file(self, path: str | Path, replace: bool = False) -> list[str]:
        """Add strategies from YAML or JSON: `{name: {kind: ..., help: ..., <settings>}}`; settings are validated now."""
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as e:
            raise StrategyError(f"{path}: cannot read: {e.strerror or e}") from None
        try:
            if path.suffix == ".json":
                data = json.loads(text)
            else:
                import yaml
                data = yaml.safe_load(text)
        except Exception as e:
            raise StrategyError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {e}") from None
        if not isinstance(data, dict):
            raise StrategyError(f"{path}: expected a mapping of strategy name -> settings")
        specs = []
        for name, body in data.items():
            if not isinstance(body, dict) or "kind" not in body:
                raise StrategyError(f"{path}: strategy {name!r} needs a mapping with a 'kind' ({', '.join(KINDS)})")
            body = dict(body)
            spec = Spec(str(name), body.pop("kind"), body, str(body.pop("help", "")), str(body.pop("typical_cost", "")))
            if spec.kind not in KINDS:
                raise StrategyError(f"{path}: strategy {name!r}: unknown kind {spec.kind!r}; known kinds: {sorted(KINDS)}")
            try:
                spec.config()  # validate now, not at first use
            except StrategyError as e:
                raise StrategyError(f"{path}: {e}") from None
            if spec.name in self._specs and not replace:
                raise StrategyError(f"{path}: strategy {spec.name!r} is already registered")
            specs.append(spec)
        for spec in specs:   # all or nothing: a bad entry anywhere in the file adds none of it
            self.add(spec, replace=replace)
        return [spec.name for spec in specs]


_DEFAULT: Registry | None = None


def registry() -> Registry:
    """The built-in presets (loaded once), plus anything a user added with `load_file`."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Registry()
        _DEFAULT.load_file(PRESETS_FILE)
    return _DEFAULT


def get_strategy(name: str):
    return registry().get(name).build()
