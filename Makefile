# make demo   — install what is needed, then run the flagship demo (the tour)
# make test   — install the test extras, then run the whole suite (what CI runs)
# make test-gpu-sim — the CUDA test cases (-m gpu) under the CuPy stand-in in ../shared/fakecupy
# make graphs — regenerate the committed gallery in graphs/
# make bench  — side-by-side benchmarks against PyTorch and hand-written NumPy

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
TORCH  := torch==2.13.0
FAKECUPY ?= ../shared/fakecupy

.PHONY: demo test test-gpu-sim graphs bench lint dot chromium clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.demo-installed: pyproject.toml | $(PY)
	$(PIP) install -e '.[demo]'
	@touch $@

$(VENV)/.test-installed: pyproject.toml | $(PY)
	$(PIP) install -e '.[demo,dev]'
	@$(PIP) install '$(TORCH)' || echo "note: $(TORCH) could not be installed; PyTorch parity tests will be skipped"
	@touch $@

# graphviz's `dot` renders the pictures; without it the .dot files are still written
dot:
	@command -v dot >/dev/null 2>&1 || { \
	  echo "installing graphviz (the dot binary)..."; \
	  { apt-get install -y -qq graphviz >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq graphviz >/dev/null 2>&1; }; } || \
	  echo "note: could not install graphviz; .dot files will be written but not rendered." \
	       "Install it yourself (apt-get install graphviz / brew install graphviz), then run: make graphs"; }

# headless Chromium opens the explorer in tests/test_explore_browser.py; without it they skip
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "installing chromium (for the explorer's browser tests)..."; \
	  { apt-get install -y -qq chromium >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; }; } || \
	  echo "note: could not install chromium; the explorer's browser tests will be skipped." \
	       "Install it yourself (apt-get install chromium / brew install --cask chromium)"; }

demo: $(VENV)/.demo-installed dot
	$(VENV)/bin/tinygrad-rnn demo tour

test: $(VENV)/.test-installed dot chromium
	$(PY) -m pytest -q

# no GPU needed: a strict CuPy stand-in that fails where CuPy fails and counts syncs and copies
test-gpu-sim: $(VENV)/.test-installed
	@test -d $(FAKECUPY)/cupy || { echo "no CuPy stand-in at $(FAKECUPY) (set FAKECUPY=...)"; exit 1; }
	PYTHONPATH=$(FAKECUPY) $(PY) -m pytest -q -m gpu

graphs: $(VENV)/.demo-installed dot
	$(VENV)/bin/tinygrad-rnn render --gallery graphs/

bench: $(VENV)/.test-installed dot
	$(PY) benchmarks/bench_lstm.py
	$(PY) benchmarks/bench_nn.py --configs S M L --repeats 5 --clock cpu --memory
	$(PY) benchmarks/bench_nn.py --configs S M L --modes LSTM --repeats 5 --clock cpu --memory --fused
	$(PY) benchmarks/bench_chain.py
	$(PY) benchmarks/bench_products.py --hidden 100
	$(PY) benchmarks/bench_render.py

lint: $(VENV)/.test-installed
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .hypothesis
