"""SGLS MILPs (Pyomo + HiGHS): oracle solve of one day and one intraday MPC re-solve.

Group ``sgls-oracle``: the subject is the perfect-foresight two-stage MILP of one day (24
hourly plan steps + 96 recourse steps, 3 × 120 storage binaries), build + solve (what the
oracle's ``reset`` does). Group ``sgls-mpc-resolve``: the subject is one re-solve of the 4-h
(16-step) intraday window on the persistent ``appsi_highs`` model (parameters updated, no
rebuild); the reference is the same window built from scratch and solved (a cold build).
Data and forecasts are untimed set-up.
"""

from __future__ import annotations

import numpy as np
import pytest

from gridbench.cases.registry import make_case
from gridbench.cases.sgls.formulation import Mpc, block_data, loss_estimate

CASE_ID = "sgls-ieee33-v0"


def test_oracle_day(benchmark):
    from gridbench.solvers.sgls import OracleController

    case = make_case(CASE_ID)
    day = case.days("test")[0]
    case.day_data(day)  # warm the data caches (untimed)

    def run():
        ctl = OracleController(case, day)
        ctl.reset(None, {})
        assert ctl.status == "ok"

    benchmark.group = "sgls-oracle"
    benchmark.extra_info.update(role="subject", solver="Pyomo appsi_highs two-stage MILP")
    benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)


@pytest.mark.parametrize(("role", "persistent"), [("reference", False), ("subject", True)])
def test_mpc_resolve(benchmark, role, persistent):
    case = make_case(CASE_ID)
    cfg = case.config
    day = case.days("test")[0]
    loss = loss_estimate(cfg, case.day_data(day, "forecast"))
    windows = [block_data(cfg, case.day_data(day, "forecast", issue_step=k), start=k,
                          length=16, pad_to=16, loss=loss) for k in range(32, 48)]
    soc0 = np.array([s.soc0 for s in cfg.storage])
    mpc = Mpc(cfg, 16, persistent=persistent)
    mpc.solve(windows[0], soc0=soc0, bal0=np.zeros(2), prev=None, ref=np.ones(16),
              soc_target=soc0)  # the compiled model (untimed for the subject)
    it = iter(range(10**9))

    def run():
        data = windows[next(it) % len(windows)]
        _info, res = mpc.solve(data, soc0=soc0, bal0=np.zeros(2), prev=None, ref=np.ones(16),
                              soc_target=soc0)
        assert res is not None

    benchmark.group = "sgls-mpc-resolve"
    benchmark.extra_info.update(role=role, solver="appsi_highs " + (
        "persistent re-solve" if persistent else "cold build + solve"))
    benchmark.pedantic(run, rounds=16, iterations=1, warmup_rounds=1)
