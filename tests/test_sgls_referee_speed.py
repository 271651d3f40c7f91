"""The fast SGLS referee step gives the numbers of the per-step array implementation, bit for
bit (``benchmarks/suites/sgls_array_core.py``, the speed suite's reference: the step as it was
written before it was made fast), and the numpy-order sum it relies on matches numpy."""

from __future__ import annotations

import itertools
import math
import runpy
from pathlib import Path

import numpy as np
import pytest

from gridbench.cases.referee import RefereeEnv
from gridbench.cases.registry import make_case
from gridbench.cases.sgls.core import SglsCore, _npsum
from gridbench.cases.sgls.shapley_table import lookup

#: The per-step array core: the benchmark suite's reference, beside it, not in the package.
ARRAY_CORE = Path(__file__).resolve().parents[1] / "benchmarks" / "suites" / "sgls_array_core.py"
ArrayCore = runpy.run_path(str(ARRAY_CORE))["ArrayCore"]


@pytest.mark.parametrize("n", range(13))
def test_npsum_is_numpy_sum(n):
    rng = np.random.default_rng(n)
    for _ in range(500):
        x = rng.standard_normal(n) * 10.0 ** rng.uniform(-6, 6, n)
        x[rng.random(n) < 0.2] = -0.0
        got, want = _npsum(x.tolist()), float(np.sum(x))
        assert got.hex() == want.hex()


def _canon(x):
    """Exact comparison key: float bits, array dtype/shape/bytes."""
    if isinstance(x, dict):
        return {k: _canon(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_canon(v) for v in x]
    if isinstance(x, np.ndarray):
        return ("nd", x.dtype.str, x.shape, x.tobytes())
    if isinstance(x, float):
        return ("f", "nan" if math.isnan(x) else x.hex())
    return (type(x).__name__, x)


def _actions(env, kind: str, rng: np.random.Generator):
    """Adversarial actions: random over a box 20 % wider than the action space with NaN and
    ±inf entries, or every entry at +inf (shift loads saturate, their windows become tight
    and the serve-back bound binds), or the exact bounds and signed zeros."""
    lo, hi = env.action_space.low, env.action_space.high
    i = 0
    while True:
        if kind == "random":
            a = lo + rng.uniform(-0.2, 1.2, lo.shape) * (hi - lo)
            if i % 7 == 3:
                a[rng.integers(lo.size)] = np.nan
            if i % 11 == 5:
                a[rng.integers(lo.size)] = -np.inf
        elif kind == "saturate":
            a = np.full(lo.shape, np.inf)
        else:
            table = np.stack([lo, hi, np.zeros_like(lo), np.full_like(lo, -0.0)])
            a = table[rng.integers(4, size=lo.size), np.arange(lo.size)]
        yield np.asarray(a, dtype=np.float32)
        i += 1


def _episode(env, day, kind):
    rng = np.random.default_rng(7)
    out = [_canon(env.reset(seed=3, options={"day": day}))]
    done = False
    for a in _actions(env, kind, rng):
        obs, reward, done, trunc, info = env.step(a)
        out.append(_canon((obs, float(reward), done, trunc, info)))
        if done:
            return out
    return out


@pytest.mark.parametrize("case_id", ["sgls-ieee33-v0", "sgls-ieee30-v0"])
def test_fast_step_is_bit_identical_to_array_step(case_id):
    case = make_case(case_id)
    # days whose Shapley shares are in the shipped table (no MILPs in a unit test)
    days = list(itertools.islice(
        (d for d in case.days("train") if lookup(case.config, d) is not None), 2))
    assert days, "no tabled day"
    fast = RefereeEnv(SglsCore(case.config), seed=0)
    slow = RefereeEnv(ArrayCore(case.config), seed=0)
    for day in days:
        for kind in ("random", "saturate", "edges"):
            assert _episode(fast, day, kind) == _episode(slow, day, kind), (day, kind)


def test_tight_shift_window_serves_at_most_the_base():
    """A saturated shift load ends its window exactly tight: the fallback serves the balance
    back at the load's own limit (it used to serve it all at once, beyond the static box)."""
    case = make_case("sgls-ieee33-v0")
    core = SglsCore(case.config)
    env = RefereeEnv(core, seed=0)
    env.reset(seed=0, options={"day": case.days("train")[0]})
    lay, done = core.lay, False
    j = next(i for i, f in enumerate(case.config.flexible) if f.kind == "shift")
    while not done:
        data = core.da if core.layer.value == "day_ahead" else core.act
        base = data.flex_base_mw[core.step_index, j]
        low, high = core.current_bounds()
        assert low[lay.fl][j] <= high[lay.fl][j]
        assert -base <= low[lay.fl][j] and high[lay.fl][j] <= base
        done = env.step(np.full(lay.dim, np.inf, dtype=np.float32))[2]
    assert abs(core.bal[j]) < 1e-9 and abs(core.bal_plan[j]) < 1e-9
