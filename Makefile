# Quickstart targets: `make demo` and `make test` create or reuse .venv and
# install what they need. GPU users: `make test TORCH_SPEC="torch --index-url ..."`.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-notorch lint docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# torch goes in first and alone, so that skorch's install keeps it (a bare
# `torch` requirement would otherwise pull a multi-GB CUDA build).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[torch,tests]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m sklearn_elr.demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The NumPy part of the library, in an environment without torch or skorch:
# proves that `import sklearn_elr` and the test collection need neither.
NOTORCH := .venv-notorch
$(NOTORCH)/.installed: pyproject.toml
	$(PYTHON) -m venv $(NOTORCH)
	$(NOTORCH)/bin/python -m pip install --quiet --upgrade pip
	$(NOTORCH)/bin/python -m pip install --quiet -e ".[tests]"
	touch $@

test-notorch: $(NOTORCH)/.installed
	$(NOTORCH)/bin/python -c "import importlib.util as u; assert u.find_spec('torch') is None"
	$(NOTORCH)/bin/python -m pytest -q -W error::pytest.PytestCollectionWarning

# ruff, pinned in the "lint" extra: lint rules and formatting (pyproject.toml).
lint: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[lint]"
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The documentation site, warnings as errors; the gallery examples run.
docs: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	rm -rf docs/_build docs/generated docs/auto_examples
	MPLBACKEND=Agg $(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[benchmarks]"
	$(BIN)/python benchmarks/bench_robustness.py
	$(BIN)/python benchmarks/bench_linear.py
	$(BIN)/python benchmarks/bench_network.py
	$(BIN)/python benchmarks/bench_elr_plus.py
	$(BIN)/python benchmarks/bench_diagnostics.py
	$(BIN)/python benchmarks/bench_threads.py
	$(BIN)/python benchmarks/bench_defaults.py
	$(BIN)/python benchmarks/bench_gpu.py
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/bench_distributed.py
	$(BIN)/python benchmarks/bench_clean.py

clean:
	rm -rf $(VENV) $(NOTORCH) build *.egg-info docs/_build docs/generated docs/auto_examples
