# The two commands of README: `make bench` (the main job) and `make test` (the tests).
# Both create their own environment on a fresh machine; nothing else needs installing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RESULTS ?= results
STORE ?= $(RESULTS)/store
BUDGET ?= quick
SEEDS ?= 3

.PHONY: bench bench-compare test lint env clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e ".[test,lint]" "tox==4.67.15"
	touch $@

env: $(VENV)/.installed

## Main job: grid checks, every method on every case's test days (quick budget: solvers
## and baselines once, RL agents over 3 seeds, evaluating shipped agents where they exist),
## the leaderboard and report under results/, and the power-flow/referee benchmarks.
bench: env
	mkdir -p $(RESULTS)/grids $(RESULTS)/benchmarks
	for g in ieee33 feeder38 ieee30; do \
	  $(BIN)/gridbench grid $$g --json > $(RESULTS)/grids/$$g.json.tmp && \
	  mv $(RESULTS)/grids/$$g.json.tmp $(RESULTS)/grids/$$g.json || exit 1; \
	done
	$(BIN)/gridbench grid ieee33
	$(BIN)/gridbench run --family bound --family solver --family baseline --seeds 1 \
	  --budget $(BUDGET) --results $(STORE)
	$(BIN)/gridbench run --family rl --seeds $(SEEDS) --budget $(BUDGET) --results $(STORE)
	$(BIN)/gridbench leaderboard --results $(STORE) --out $(RESULTS)/leaderboard.md
	$(BIN)/gridbench leaderboard --results $(STORE) --format json --out $(RESULTS)/leaderboard.json
	$(BIN)/gridbench report --results $(STORE) --out $(RESULTS)/report
	$(BIN)/python -m pytest benchmarks/suites -q -p no:cacheprovider --benchmark-only \
	  --benchmark-json=$(RESULTS)/benchmarks/latest.json
	$(BIN)/python -m gridbench.benchmarks.ratios $(RESULTS)/benchmarks/latest.json \
	  --markdown $(RESULTS)/benchmarks/RATIOS.md

## Tests: README's test command; CI runs exactly this.
test: env
	$(BIN)/tox -e test

## Speed ratios (reference / ours) of the benchmark suites against the committed
## benchmarks/baseline.json: fails on a drop beyond the baseline's tolerance.
bench-compare: env
	$(BIN)/tox -e bench-compare

lint: env
	$(BIN)/tox -e lint

clean:
	rm -rf $(VENV) .tox build *.egg-info
