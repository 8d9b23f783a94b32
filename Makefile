# Everything runs from a project-local virtual environment, built on first use and rebuilt
# when the dependency files change. Only Python 3.11+ and make are needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test chromium fuzz schema playground-assets bench lock clean

run: $(STAMP)  ## Install, then serve the library in ./data on http://127.0.0.1:8000/graphql
	$(BIN)/modelshelf serve

test: $(STAMP) chromium  ## Install, then lint, type-check and run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

chromium:  ## Install Debian's chromium for the browser tests, when it is missing
	@tools/ensure-chromium

# `make fuzz` generates this many requests per fuzz test (one per root field, one mixing
# them), with new seeds each run.
FUZZ_EXAMPLES ?= 2000

fuzz: $(STAMP)  ## Fuzz the GraphQL API for long (FUZZ_EXAMPLES per test; FUZZ_LOG=file to go on past failures)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_LOG=$(FUZZ_LOG) $(BIN)/python -m pytest tests/test_fuzz.py \
		-k generated -o timeout=0 --hypothesis-show-statistics

schema: $(STAMP)  ## Rewrite schema.graphql from the code
	$(BIN)/modelshelf export-schema --output schema.graphql

playground-assets: $(STAMP)  ## Re-fetch the playground's pinned npm files and check their hashes (REPIN=1 records new ones)
	$(BIN)/python tools/playground_assets.py $(if $(REPIN),--repin)

bench: $(STAMP)  ## Run every benchmark (slow; not part of the tests)
	$(BIN)/python bench/query_latency.py
	$(BIN)/python bench/images.py
	$(BIN)/python bench/migrate.py
	$(BIN)/python bench/hashing.py
	$(BIN)/python bench/jobs.py
	$(BIN)/python bench/scan.py

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Model Shelf needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	# The benchmarks' extras too: `make test` type-checks bench/ as well.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test,bench]'
	touch $(STAMP)

lock:  ## Re-resolve the newest versions the pins in pyproject.toml allow into requirements.lock
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check '.[test,bench]'
	.lock-venv/bin/python -m pip freeze --exclude modelshelf > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info test-artifacts
