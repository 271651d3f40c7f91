# The two commands of README: `make bench` (the main job) and `make test` (the tests).
# Both create their own environment on a fresh machine; nothing else needs installing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RESULTS ?= results
STORE ?= $(RESULTS)/store
# The committed reference run (all 73 test days): README's answer table is generated from it.
REFERENCE ?= $(RESULTS)/reference
BUDGET ?= quick
SEEDS ?= 5
# Test days of every run of the main job: the first DAYS of the 73 (DAYS=all: every one).
# 5 days keep `make bench` within about 10-15 minutes on 2 cores; the committed reference
# leaderboard (results/reference) has all 73.
DAYS ?= 5
DAYS_FLAG = $(if $(filter all,$(DAYS)),,--days $(DAYS))
# Cases whose solvers, baselines and every RL method run in the main job.
FULL_CASES ?= ses-carbon-ieee33-v0 loss-arbitrage-ieee33-v0
# The SGLS cases run their solvers and baselines (about 15 s of solver time per day and
# case: Pyomo/HiGHS MILPs, a scenario program, 96 MPC re-solves; the Shapley shares come
# precomputed from cases/sgls/shapley/) and evaluate the shipped agents (results/agents/):
# the fair-protocol ppo, PPO variants, SAC, TD3 and DDPG and the paper's reproductions.
SGLS_CASES ?= sgls-ieee33-v0 sgls-ieee30-v0
SGLS_RL ?= ppo ppo-kl-fair ppo-clip-kl-fair sac td3 ddpg ppo-kl ppo-clip-kl
# The Stackelberg cases run their leader methods: the bilevel MILP (oracle, and day-ahead on
# the forecast; 1-7 s per day and case), the tariff with best-responding followers, idle, the
# social optimum; the shipped MADDPG agents (all four players learned) and the shipped
# leader-only PPO. The hourly cases are GSESS and CSESS with the DSO posting each hour's prices
# in that hour (the MILP is their commitment benchmark); the tou3 cases post one price level
# per tariff window (12 free prices instead of 96).
STACKELBERG_CASES ?= stackelberg-gsess-feeder38-v0 stackelberg-csess-feeder38-v0 \
  stackelberg-gsess-hourly-feeder38-v0 stackelberg-csess-hourly-feeder38-v0 \
  stackelberg-gsess-tou3-feeder38-v0 stackelberg-csess-tou3-feeder38-v0
STACKELBERG_MADDPG_CASES ?= stackelberg-gsess-feeder38-v0 stackelberg-csess-feeder38-v0 \
  stackelberg-gsess-hourly-feeder38-v0 stackelberg-csess-hourly-feeder38-v0
STACKELBERG_PPO_CASES ?= stackelberg-gsess-feeder38-v0 stackelberg-csess-feeder38-v0 \
  stackelberg-gsess-tou3-feeder38-v0 stackelberg-csess-tou3-feeder38-v0

.PHONY: bench bench-compare test lint env clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet -e ".[test,lint]" "tox==4.67.15"
	touch $@

env: $(VENV)/.installed

## Main job: grid checks, every method on the first DAYS test days of every case (quick
## budget: solvers and baselines once, RL agents over 5 seeds, evaluating shipped agents
## where they exist), the leaderboard and report under results/ (the report opens with this
## run's answer), the oracle-bound check of this run and of the committed reference, README's
## answer table (from the committed reference: 73 days) and the benchmark suites' speed
## ratios. `make bench DAYS=all` runs all 73 test days.
bench: env
	mkdir -p $(RESULTS)/grids $(RESULTS)/benchmarks
	for g in ieee33 feeder38 ieee30; do \
	  $(BIN)/gridbench grid $$g --json > $(RESULTS)/grids/$$g.json.tmp && \
	  mv $(RESULTS)/grids/$$g.json.tmp $(RESULTS)/grids/$$g.json || exit 1; \
	done
	$(BIN)/gridbench grid ieee33
	$(BIN)/gridbench run $(FULL_CASES:%=--case %) $(SGLS_CASES:%=--case %) \
	  $(STACKELBERG_CASES:%=--case %) --family bound --family solver --family baseline \
	  --seeds 1 --budget $(BUDGET) $(DAYS_FLAG) --results $(STORE)
	$(BIN)/gridbench run $(FULL_CASES:%=--case %) --family rl --seeds $(SEEDS) \
	  --budget $(BUDGET) $(DAYS_FLAG) --results $(STORE)
	$(BIN)/gridbench run $(SGLS_CASES:%=--case %) $(SGLS_RL:%=--method %) --seeds $(SEEDS) \
	  --budget $(BUDGET) $(DAYS_FLAG) --results $(STORE)
	$(BIN)/gridbench run $(STACKELBERG_MADDPG_CASES:%=--case %) --method maddpg --seeds $(SEEDS) \
	  --budget $(BUDGET) $(DAYS_FLAG) --results $(STORE)
	$(BIN)/gridbench run $(STACKELBERG_PPO_CASES:%=--case %) --method ppo --seeds $(SEEDS) \
	  --budget $(BUDGET) $(DAYS_FLAG) --results $(STORE)
	$(BIN)/gridbench leaderboard --results $(STORE) --out $(RESULTS)/leaderboard.md
	$(BIN)/gridbench leaderboard --results $(STORE) --format json --out $(RESULTS)/leaderboard.json
	$(BIN)/python -m gridbench.benchmarks.bound_check --results $(STORE)
	$(BIN)/gridbench report --results $(STORE) --out $(RESULTS)/report
	$(BIN)/python -m gridbench.benchmarks.bound_check --results $(REFERENCE)
	$(BIN)/python -m gridbench.benchmarks.answer --results $(REFERENCE) --readme README.md
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
