# Quick start: `make demo` and `make test` on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test docs lint fuzz bench accuracy coverage install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[all]'
	touch $@

# The test extra (pinned torch, mpmath, ...) and the docs extra: the suite builds the site and runs its examples.
$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,docs]'
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	@echo "== Wikipedia's example: Binomial(2, 0.4) against the uniform law on {0, 1, 2}"
	$(BIN)/kullback kl examples/binomial_vs_uniform.csv --p binomial --q uniform
	@echo "== Leading digits of the first 1000 Fibonacci numbers against Benford's law, and against uniform digits"
	$(BIN)/kullback kl examples/benford.csv --p fibonacci_count --q benford --normalize --base 2
	$(BIN)/kullback kl examples/benford.csv --p fibonacci_count --q uniform --normalize --base 2
	@echo "== KL estimated from samples of two Gaussians in 2-d, with its 95% interval, beside the exact value"
	$(BIN)/python examples/estimate.py
	@echo "== Space-worm teeth: which law loses least information, fitted forward and reverse (figure in docs/guide/)"
	$(BIN)/python examples/space_worms.py
	@echo "== Two cohorts of the UCI Wine data (cultivars 0+1 vs 1+2): which columns drifted (exit 1 means drift found)"
	$(BIN)/kullback compare examples/wine_reference.csv examples/wine_current.csv --report compare-report.html || test $$? -eq 1
	@echo "The report is in compare-report.html"

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The suite runs the fuzzer's bounded profile; `make fuzz` runs the long one. It also runs every docstring's
# and every docs page's examples, builds the site and opens it in headless Chromium (tests/test_docs.py).
test: lint
	$(BIN)/python -m pytest -q

# The documentation site, into build/docs/html; warnings are errors.
docs: $(VENV)/.installed-test
	$(BIN)/python -m sphinx -E -W --keep-going -q -b html -d build/docs/doctrees docs build/docs/html
	@echo "The site is in build/docs/html/index.html"

fuzz: $(VENV)/.installed-test
	HYPOTHESIS_PROFILE=long $(BIN)/python -m pytest -q -m fuzz

$(VENV)/.installed-bench: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/bench_discrete.py
	$(BIN)/python benchmarks/bench_distributions.py
	$(BIN)/python benchmarks/bench_startup.py --out docs/benchmarks-startup.md
	$(BIN)/python benchmarks/bench_kdtree.py
	$(BIN)/python benchmarks/bench_estimation.py

# The accuracy tables of docs/accuracy.md (long: tens of minutes), and the interval-coverage studies.
accuracy: $(VENV)/.installed-test
	$(BIN)/python benchmarks/accuracy_same.py
	$(BIN)/python benchmarks/accuracy_cross.py
	$(BIN)/python benchmarks/accuracy_numeric.py

coverage: $(VENV)/.installed-test
	$(BIN)/python benchmarks/coverage_estimation.py
	$(BIN)/python benchmarks/plugin_coverage.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info docs/_generated docs/api/generated docs/api/_names.rst
