"""`tttc strategies`: the strategy library, with settings and typical cost on this machine."""
from __future__ import annotations

import json


def add_arguments(p) -> None:
    p.add_argument("--strategies-file", default=None, help="YAML/JSON file of extra strategies")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _diff(value: dict, default: dict, prefix: str = "") -> dict:
    """The settings that differ from the kind's defaults, as dotted leaves (`train.max_steps`)."""
    out = {}
    for k, v in value.items():
        if isinstance(v, dict) and isinstance(default.get(k), dict):
            out.update(_diff(v, default[k], f"{prefix}{k}."))
        elif v != default.get(k):
            out[f"{prefix}{k}"] = v
    return out


def run(args) -> int:
    from strategies.registry import registry
    reg = registry()
    if args.strategies_file:
        reg.load_file(args.strategies_file)
    rows = []
    for spec in reg.specs():
        cfg = spec.config()
        defaults = type(cfg)()
        changed = _diff(cfg.model_dump(), defaults.model_dump())
        rows.append({"name": spec.name, "kind": spec.kind, "help": spec.help, "typical_cost": spec.typical_cost,
                     "settings": cfg.model_dump(), "overrides": changed})
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for r in rows:
        print(f"{r['name']:<10} [{r['kind']}] {r['help']}")
        if r["typical_cost"]:
            print(f"{'':<10} typical cost: {r['typical_cost']}")
        if r["overrides"]:
            print(f"{'':<10} " + ", ".join(f"{k}={v}" for k, v in r["overrides"].items()))
    return 0
