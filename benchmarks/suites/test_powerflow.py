"""Power flow: gridbench's radial sweep against ``pandapower.runpp``, side by side.

Each group pairs a reference (``extra_info["role"] = "reference"``) with our subject;
batched runs record ``extra_info["scenarios"]`` so per-scenario times, and the ratio
reference/subject, can be read off the JSON (``python -m gridbench.benchmarks.ratios``).
Set-up (building nets, compiling the numba kernel, drawing scenarios) is never timed.
"""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pytest

from gridbench.cases.grid import RadialPowerFlow, load_grid

FEEDERS = ["ieee33", "feeder38"]
BATCH = 1000


def _scenarios(grid, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    p = grid.load_p_mw * rng.uniform(0.0, 2.0, (n, grid.n_bus))
    q = grid.load_q_mvar * rng.uniform(0.0, 2.0, (n, grid.n_bus))
    p[:, -5:] -= rng.uniform(0.0, 0.5, (n, 5))  # PV at the feeder end, some reverse flow
    p[:, 0] = q[:, 0] = 0.0
    return p, q


def _loaded_net(grid):
    net = grid.to_pandapower()
    pp.runpp(net, numba=True)  # warm numba and pandapower's caches (untimed)
    return net


@pytest.mark.parametrize("name", FEEDERS)
def test_single_reference_pandapower(benchmark, name):
    grid = load_grid(name)
    net = _loaded_net(grid)
    net.load["p_mw"] = grid.load_p_mw[1:]
    net.load["q_mvar"] = grid.load_q_mvar[1:]
    benchmark.group = f"powerflow-{name}-single"
    benchmark.extra_info.update(role="reference", scenarios=1, solver="pandapower.runpp")
    benchmark(pp.runpp, net, numba=True)
    assert net.converged


@pytest.mark.parametrize("name", FEEDERS)
def test_single_subject_sweep(benchmark, name):
    grid = load_grid(name)
    pf = RadialPowerFlow(grid)
    pf.solve(grid.load_p_mw, grid.load_q_mvar)  # compile (untimed)
    benchmark.group = f"powerflow-{name}-single"
    benchmark.extra_info.update(role="subject", scenarios=1, solver="gridbench sweep")
    result = benchmark(pf.solve, grid.load_p_mw, grid.load_q_mvar)
    assert result.converged


@pytest.mark.parametrize("name", FEEDERS)
def test_batch_reference_pandapower(benchmark, name):
    """``runpp`` per scenario, cycling through the same 1,000 scenarios as the subject."""
    grid = load_grid(name)
    p, q = _scenarios(grid, BATCH)
    net = _loaded_net(grid)
    state = {"k": 0}

    def one_scenario():
        k = state["k"] % BATCH
        state["k"] += 1
        net.load["p_mw"] = p[k, 1:]
        net.load["q_mvar"] = q[k, 1:]
        pp.runpp(net, numba=True)

    benchmark.group = f"powerflow-{name}-batch"
    benchmark.extra_info.update(role="reference", scenarios=1, solver="pandapower.runpp")
    benchmark.pedantic(one_scenario, rounds=30, iterations=1, warmup_rounds=1)
    assert net.converged


@pytest.mark.parametrize("name", FEEDERS)
def test_batch_subject_sweep(benchmark, name):
    grid = load_grid(name)
    p, q = _scenarios(grid, BATCH)
    pf = RadialPowerFlow(grid)
    pf.solve(p[:2], q[:2])  # compile (untimed)
    benchmark.group = f"powerflow-{name}-batch"
    benchmark.extra_info.update(role="subject", scenarios=BATCH, solver="gridbench sweep")
    result = benchmark(pf.solve, p, q)
    assert result.converged.all()
