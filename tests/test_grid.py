"""Grid data and power flows against the published base case and against pandapower."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandapower as pp
import pytest

from gridbench.cases.grid import RadialFeeder, RadialPowerFlow, UnknownGridError, load_grid
from gridbench.cases.grid.dc import DcPowerFlow, ac_check
from gridbench.cases.grid.networks import FEEDER38_DER_NODES, ieee30_pandapower
from gridbench.cases.grid.summary import grid_summary

RADIAL = ["ieee33", "feeder38"]


def test_ieee33_reproduces_published_base_case():
    s = grid_summary("ieee33")
    assert (s["buses"], s["branches"]) == (33, 32)
    assert s["losses_kw"] == pytest.approx(202.67, rel=1e-3)
    assert s["v_min_pu"] == pytest.approx(0.9131, rel=1e-3)
    assert s["v_min_bus"] == 18
    assert s["load_mw"] == pytest.approx(3.715)
    assert s["load_mvar"] == pytest.approx(2.3)


def test_feeder38_is_ieee33_plus_five_der_nodes():
    g33, g38 = load_grid("ieee33"), load_grid("feeder38")
    assert (g38.n_bus, g38.n_branch) == (38, 37)
    np.testing.assert_array_equal(g38.r_ohm[:32], g33.r_ohm)
    for number, parent, _kind in FEEDER38_DER_NODES:
        k = int(np.flatnonzero(g38.to_bus == number - 1)[0])
        assert g38.from_bus[k] == parent - 1
    s = grid_summary("feeder38")
    assert s["losses_kw"] == pytest.approx(grid_summary("ieee33")["losses_kw"], abs=1e-9)


def test_ieee30_summary_and_costs():
    s = grid_summary("ieee30")
    assert (s["buses"], s["branches"]) == (30, 41)
    g = load_grid("ieee30")
    assert g.n_gen == 6 and g.gen_bus[0] == g.slack_bus == 0
    # MATPOWER case30 costs: gen at bus 2 is 0.0175 P^2 + 1.75 P
    assert (g.gen_cost_c2[1], g.gen_cost_c1[1]) == (0.0175, 1.75)
    assert s["losses_kw"] == pytest.approx(2443.8, rel=1e-3)


def test_unknown_grid_suggests_closest_name():
    with pytest.raises(UnknownGridError, match=r"unknown grid 'ieee3'; did you mean 'ieee33'\?"):
        load_grid("ieee3")


def test_non_radial_feeder_is_rejected():
    with pytest.raises(ValueError, match="not radial"):
        RadialFeeder(
            name="loop", base_kv=1.0, from_bus=[0, 1], to_bus=[1, 1],
            r_ohm=[1, 1], x_ohm=[1, 1], load_p_mw=[0, 1, 1], load_q_mvar=[0, 0, 0],
            rate_mva=[math.inf] * 2,
        )


def _random_scenarios(grid, n, rng):
    """Loads 0–2x nominal; ~1/3 of scenarios with PV up to 3 MW spread over the feeder end."""
    p = grid.load_p_mw * rng.uniform(0.0, 2.0, (n, grid.n_bus))
    q = grid.load_q_mvar * rng.uniform(0.0, 2.0, (n, grid.n_bus))
    pv_buses = rng.integers(1, grid.n_bus, (n, 5))
    high_pv = rng.random(n) < 0.35
    pv = rng.uniform(0.0, 0.6, (n, 5)) * high_pv[:, None]
    for k in range(5):
        np.add.at(p, (np.arange(n), pv_buses[:, k]), -pv[:, k])
    q[:, 0] = p[:, 0] = 0.0
    return p, q, high_pv


@pytest.mark.parametrize("name", RADIAL)
def test_sweep_matches_pandapower_on_random_scenarios(name):
    grid = load_grid(name)
    rng = np.random.default_rng(2016)
    p, q, high_pv = _random_scenarios(grid, 200, rng)
    result = RadialPowerFlow(grid).solve(p, q)
    assert result.converged.all()
    reverse = 0
    net = grid.to_pandapower()
    assert net.load.bus.tolist() == list(range(1, grid.n_bus))
    for s in range(len(p)):
        net.load["p_mw"] = p[s, 1:]
        net.load["q_mvar"] = q[s, 1:]
        pp.runpp(net, tolerance_mva=1e-10, numba=True)
        vm = net.res_bus.vm_pu.to_numpy()
        assert np.abs(result.vm_pu[s] - vm).max() <= 1e-6
        assert abs(result.total_loss_mw[s] - net.res_line.pl_mw.sum()) <= 1e-6
        np.testing.assert_allclose(result.branch_p_from_mw[s], net.res_line.p_from_mw, atol=1e-6)
        assert result.p_slack_mw[s] == pytest.approx(net.res_ext_grid.p_mw.iloc[0], abs=1e-6)
        reverse += bool((net.res_line.p_from_mw < 0).any())
    assert high_pv.sum() > 50 and reverse > 50, "the sample must include reverse flow"


def test_single_snapshot_equals_batch_row():
    grid = load_grid("ieee33")
    pf = RadialPowerFlow(grid)
    p, q, _ = _random_scenarios(grid, 3, np.random.default_rng(1))
    batch = pf.solve(p, q)
    one = pf.solve(p[1], q[1])
    np.testing.assert_array_equal(one.v, batch.v[1])
    assert one.total_loss_mw == pytest.approx(batch.total_loss_mw[1], rel=1e-15)


def test_two_bus_feeder_by_hand():
    """1 MW at unity pf through r = 0.1 pu: V = (1 + sqrt(1 - 4 r P)) / 2, loss = r (P/V)^2."""
    grid = RadialFeeder(
        name="two-bus", base_kv=1.0, from_bus=[0], to_bus=[1], r_ohm=[0.1], x_ohm=[0.0],
        load_p_mw=[0.0, 1.0], load_q_mvar=[0.0, 0.0], rate_mva=[math.inf],
    )
    r = RadialPowerFlow(grid).solve(grid.load_p_mw, grid.load_q_mvar)
    v = (1 + math.sqrt(1 - 0.4)) / 2
    assert r.vm_pu[1] == pytest.approx(v, abs=1e-12)
    assert r.total_loss_mw == pytest.approx(0.1 * (1 / v) ** 2, abs=1e-12)
    assert r.p_slack_mw == pytest.approx(1 + 0.1 * (1 / v) ** 2, abs=1e-12)


def test_bad_demand_shapes_and_values_are_rejected():
    pf = RadialPowerFlow(load_grid("ieee33"))
    with pytest.raises(ValueError, match="n_bus=33"):
        pf.solve(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="NaN or inf"):
        pf.solve(np.full(33, np.nan), np.zeros(33))


def test_dc_ptdf_matches_pandapower_dcpp():
    grid = load_grid("ieee30")
    net = ieee30_pandapower()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.rundcpp(net)
    inj = -grid.load_p_mw.copy()
    np.add.at(inj, net.gen.bus.to_numpy(), net.res_gen.p_mw.to_numpy())
    np.add.at(inj, net.ext_grid.bus.to_numpy(), net.res_ext_grid.p_mw.to_numpy())
    flows = DcPowerFlow(grid).flows_mw(inj)
    np.testing.assert_allclose(flows, net.res_line.p_from_mw.to_numpy(), atol=1e-9)


def test_ac_check_reports_losses_and_overloads():
    grid = load_grid("ieee30")
    net = ieee30_pandapower()
    check = ac_check(net, net.gen.p_mw.to_numpy(), grid.load_p_mw, grid.load_q_mvar)
    assert check.converged
    assert check.losses_mw == pytest.approx(2.4438, rel=1e-3)
    # the published set-points overload one line (111.8 %): reported, not hidden
    assert check.max_loading_percent == pytest.approx(111.83, rel=1e-3)
    assert check.line_overload_percent == pytest.approx(check.max_loading_percent - 100, rel=1e-6)
