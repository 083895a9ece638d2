"""`tttc adapt`: train the adaptation adapter that the embedded model merges at load."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def add_arguments(p) -> None:
    p.add_argument("--model", default=None, help="embedded model name or HF folder to adapt (default: the default model)")
    p.add_argument("--out", default=None, help="adapter folder (default strategies/runtime/adaptation/<model>-adapt, the one the model merges at load)")
    p.add_argument("--minutes", type=float, default=45.0, help="training time budget")
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--families", default=None, help="comma-separated adapt families (default: all)")
    p.add_argument("--init", default=None,
                   help="start from this adapter folder: the <out>.checkpoint/ an interrupted run leaves "
                        "(saved every 20 steps), or an earlier stage's adapter")


def run(args) -> int:
    import os
    os.environ["TTTC_NO_ADAPTER"] = "1"  # adapt the raw base, never an earlier adapter merged in
    from tqdm import tqdm

    from eval.recipes.adapt import AdaptConfig, adapt
    from strategies.runtime.models import DEFAULT_MODEL, adapter_dir
    from strategies.runtime import Runtime

    cfg = AdaptConfig(minutes=args.minutes, rank=args.rank, lr=args.lr, init=args.init,
                      families=args.families.split(",") if args.families else None)
    from strategies.settings import settings
    model = args.model or settings().model or DEFAULT_MODEL
    runtime = Runtime.load(model, adapter=False)
    out = Path(args.out) if args.out else adapter_dir(Path(model).name)
    bar = None

    def progress(stage, info):
        nonlocal bar
        if stage == "training":
            if bar is None:
                bar = tqdm(total=info["of"], desc="adapt", unit="step", file=sys.stderr)
            bar.update(1)
            bar.set_postfix(loss=info["loss"])
        else:
            print(f"{stage} {info}", file=sys.stderr, flush=True)

    try:
        result = adapt(runtime, cfg, out, progress)
    except KeyboardInterrupt:
        from eval.recipes.adapt import checkpoint_dir
        state = checkpoint_dir(out) / "checkpoint.json"
        if state.is_file():
            step = json.loads(state.read_text())
            print(f"adapt: stopped after step {step['step']} of {step['of']} was saved; continue with "
                  f"tttc adapt --init {checkpoint_dir(out)} (and the same --out)", file=sys.stderr)
        raise
    if bar:
        bar.close()
    print(json.dumps({k: v for k, v in result.items() if k not in ("train_losses", "val_losses")}, indent=1))
    print(f"adapter saved to {out}", file=sys.stderr)
    return 0
