"""Tests of the SES-carbon case: config, accounting (hand-checked), day data, referee physics."""

from __future__ import annotations

import dataclasses
import datetime

import numpy as np
import pytest

from gridbench.cases.contracts import CaseConfigError
from gridbench.cases.grid import RadialPowerFlow, load_grid
from gridbench.cases.kpi import validate_step_info
from gridbench.cases.projection import storage_power_bounds
from gridbench.cases.registry import make_case
from gridbench.cases.ses_carbon import accounting as acc
from gridbench.cases.ses_carbon.case import SesCarbonCase
from gridbench.cases.ses_carbon.config import CarbonMarketParams, SesCarbonConfig
from gridbench.cases.ses_carbon.core import COST_TERMS, OBSERVATION_NAMES
from gridbench.cases.ses_carbon.day import N_STEPS, nowcast_day, ses_carbon_day

DAY = datetime.date(2016, 7, 1)
CASE = SesCarbonCase()
CFG: SesCarbonConfig = CASE.config
N_GT, N_ST = CFG.gas_turbine.n, CFG.storage.n


def _env(day: datetime.date = DAY):
    env = CASE.make_env(day=day, seed=0)
    obs, info = env.reset(seed=0)
    return env, obs, info


def _action(gt=(0.0, 0.0, 0.0), st=(0.0, 0.0, 0.0, 0.0, 0.0)) -> np.ndarray:
    """float64 setpoints (the referee takes them as they are; float32 would round 0.2)."""
    return np.array([*gt, *st], dtype=np.float64)


# ---------------------------------------------------------------------------- config
@pytest.mark.parametrize(
    ("config", "needles"),
    [
        ({"storage": {"energy_mwh": -1.2}}, ("storage.energy_mwh", "-1.2")),
        ({"storage": {"p_max_mw": 0}}, ("storage.p_max_mw", "got 0")),
        ({"storage": {"eta_charge": 1.2}}, ("storage.eta_charge", "1.2")),
        ({"storage": {"soc_min": 0.9}}, ("SOC window inverted", "soc_min=0.9")),
        ({"storage": {"terminal_value_usd_per_mwh": -1.0}}, ("terminal_value_usd_per_mwh",)),
        ({"gas_turbine": {"p_min_mw": 0.5}}, ("gas turbine range inverted", "p_min_mw=0.5")),
        ({"gas_turbine": {"buses": [1, 7, 30]}}, ("gas turbine buses [1]",)),
        ({"pv": {"profiles": ["PV1", "PV9", "PV3", "PV4", "PV5"]}}, ("PV9",)),
        ({"network": {"v_min_pu": 1.1}}, ("voltage band inverted", "v_min_pu=1.1")),
        ({"carbon": {"upstream_lo_t_per_mwh": 0.7}}, ("upstream intensity", "lo=0.7")),
        ({"tariff": "flat"}, ("unknown tariff 'flat'", "cn-3level")),
        ({"batteries": 5}, ("batteries", "Extra inputs")),
    ],
)
def test_config_errors_are_one_line_and_name_the_value(config, needles):
    with pytest.raises(CaseConfigError) as exc:
        SesCarbonCase(config)
    msg = str(exc.value)
    assert "\n" not in msg
    for needle in needles:
        assert needle in msg


def test_config_defaults_follow_the_paper():
    assert (CFG.storage.eta_charge, CFG.storage.eta_discharge) == (0.95, 0.8)  # Table 1
    assert CFG.gas_turbine.carbon_t_per_mwh == 0.55  # Table 1
    assert CFG.storage.p_max_mw == 0.3 and CFG.gas_turbine.p_max_mw == 0.3  # §5.1
    assert (CFG.storage.soc_min, CFG.storage.soc_max) == (0.2, 0.8)  # §5.3
    assert (N_GT, N_ST, CFG.pv.n) == (3, 5, 5)  # §5.1
    assert SesCarbonCase({"storage": {"energy_mwh": 2.0}}).config.storage.energy_mwh == 2.0
    with pytest.raises(Exception, match="frozen"):
        CFG.storage.p_max_mw = 1.0  # type: ignore[misc]


def test_terminal_price_defaults_to_the_valley_tariff_per_stored_mwh():
    assert CFG.storage.terminal_value_usd_per_mwh is None
    assert CFG.terminal_price_usd_per_mwh == pytest.approx(34.2 / 0.95)  # 36 $/MWh
    assert SesCarbonCase({"tariff": "peak-valley-6-20"}).config.terminal_price_usd_per_mwh == (
        pytest.approx(40.0 / 0.95)
    )
    fixed = SesCarbonCase({"storage": {"terminal_value_usd_per_mwh": 0.0}}).config
    assert fixed.terminal_price_usd_per_mwh == 0.0


# ---------------------------------------------------------------------------- accounting
LADDER = CarbonMarketParams(base_price_usd_per_t=10.0, step_t=1.0, growth_rate=0.5)


def test_ladder_segments_and_cost_by_hand():
    bp, slopes = acc.ladder_segments(LADDER)
    np.testing.assert_array_equal(bp, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(slopes, [10.0, 15.0, 20.0, 25.0])
    # eq (14) tier by tier: 10·x | 10 + 15(x−1) | 10 + 15 + 20(x−2) | 45 + 25(x−3)
    cases = {-2.0: -20.0, 0.0: 0.0, 0.5: 5.0, 1.0: 10.0, 1.5: 17.5, 2.5: 35.0, 3.0: 45.0, 5.0: 95.0}
    for q, expected in cases.items():
        assert acc.ladder_carbon_cost(q + 4.0, 4.0, LADDER) == pytest.approx(expected, abs=1e-12)
    # the defaults: ε = 35 $/t, d = 2 t, λ = 0.25
    assert acc.ladder_carbon_cost(7.5, 0.0, CFG.carbon) == pytest.approx(
        35 * 2 + 43.75 * 2 + 52.5 * 2 + 61.25 * 1.5
    )


def test_ladder_epigraph_marginal_price_and_convexity():
    slopes, intercepts = acc.ladder_affine_pieces(LADDER)
    np.testing.assert_array_equal(intercepts, [0.0, -5.0, -15.0, -30.0])
    x = np.linspace(-3.0, 6.0, 181)
    cost = acc.ladder_carbon_cost(x, 0.0, LADDER)
    np.testing.assert_allclose(cost, np.max(slopes * x[:, None] + intercepts, axis=1), atol=1e-12)
    assert np.all(np.diff(cost, 2) >= -1e-9)  # convex
    np.testing.assert_array_equal(
        acc.marginal_carbon_price([-1.0, 0.99, 1.0, 2.5, 3.0, 9.0], LADDER),
        [10.0, 10.0, 15.0, 20.0, 25.0, 25.0],
    )


def test_settlement_telescopes_to_the_daily_ladder():
    rng = np.random.default_rng(3)
    emissions, allowance = rng.uniform(0.0, 0.4, 24), rng.uniform(0.0, 0.25, 24)
    net = np.concatenate([[0.0], np.cumsum(emissions - allowance)])
    steps = acc.carbon_settlement_usd(net[:-1], net[1:], LADDER)
    assert steps.sum() == pytest.approx(
        float(acc.ladder_carbon_cost(emissions.sum(), allowance.sum(), LADDER))
    )


def test_network_carbon_intensity_eq13_by_hand():
    # (2·0.5 + 1·0.55) / (2 + 1 + 0.5 + 0.5): turbines 0.6 + 0.4, PV 0.5, discharge 0.5
    got = acc.network_carbon_intensity(2.0, 0.5, 0.6 + 0.4, 0.55, 0.5, 0.5)
    assert got == pytest.approx(1.55 / 4.0)
    # an export supplies nothing: only the turbines emit
    got = acc.network_carbon_intensity(-1.0, 0.5, 1.0, 0.55, 1.0, 0.0)
    assert got == pytest.approx(0.55 / 2.0)
    assert acc.network_carbon_intensity(0.0, 0.5, 0.0, 0.55, 0.0, 0.0) == 0.0
    # entry by entry over arrays (as a plan's post-processing maps it)
    got = acc.elementwise(acc.network_carbon_intensity, [2.0, -1.0], 0.5, [1.0, 1.0], 0.55, 0, 0)
    np.testing.assert_allclose(got, [1.55 / 3.0, 0.55 / 1.0], rtol=1e-15)


def test_emissions_and_dso_cost_terms_by_hand():
    assert acc.step_emissions_t(2.0, 0.5, 0.2 + 0.1, 0.55, 1.0) == pytest.approx(1.165)
    assert acc.step_emissions_t(-2.0, 0.5, 0.2, 0.55, 0.5) == pytest.approx(0.055)
    assert acc.energy_purchase_usd(-1.5, 90.0, 1.0) == pytest.approx(-135.0)
    assert acc.gas_turbine_fuel_usd(0.04, 0.2, 1, 100.0, 80.0, 3.0, 1.0) == pytest.approx(23.0)
    # two turbines at 0.2 and 0.1 MW: Σ(100·P² + 80·P + 3) = 23 + 12
    assert acc.gas_turbine_fuel_usd(0.05, 0.3, 2, 100.0, 80.0, 3.0, 1.0) == pytest.approx(35.0)
    assert acc.storage_degradation_usd(0.3 + 0.2, 20.0, 1.0) == pytest.approx(10)
    assert acc.allowance_t(np.array([1.0, 2.0]), 0.42, 1.0) == pytest.approx(1.26)
    # loads 1 + 2 MW at 100 $/MWh; storages charging 0.1, discharging 0.3 MW; C_t = 0.5
    terms = acc.paper_objective_terms(100.0, 3.0, 7.0, 0.1, 0.3, 8.0, 0.5, 1.0)
    assert terms == pytest.approx(
        {
            "user_purchase": 300.0,
            "gas_turbine": 7.0,
            "ses": -20.0,
            "ses_degradation": 8.0,
            "carbon_quantity_t": 1.55,
        }
    )


def test_terminal_energy_settlement_by_hand():
    assert acc.terminal_energy_price(34.2, 0.95) == pytest.approx(36.0, abs=1e-12)
    assert acc.terminal_energy_price(40.0, 0.8) == pytest.approx(50.0, abs=1e-12)
    with pytest.raises(ValueError, match="eta_charge"):
        acc.terminal_energy_price(34.2, 0.0)
    # two storages drained 0.6 -> 0.24 MWh (bought back) and one charged 0.6 -> 0.9 MWh
    # (credited): 36·(0.36 + 0.36 − 0.3) = 36·0.42 = 15.12 $
    got = acc.terminal_energy_settlement([0.6, 0.6, 0.6], [0.24, 0.24, 0.9], 36.0)
    assert got == pytest.approx(15.12, abs=1e-12)
    assert acc.terminal_energy_settlement([0.6], [0.96], 36.0) == pytest.approx(-12.96, abs=1e-12)
    assert acc.terminal_energy_settlement([0.6, 0.3], [0.6, 0.3], 36.0) == 0.0
    assert acc.terminal_energy_settlement([0.6], [0.0], 0.0) == 0.0


def test_storage_energy_update_eq11_by_hand():
    e, dis, ch = acc.storage_energy_update([0.6, 0.6, 0.6], [-0.3, 0.3, 0.0], 1.0, 0.95, 0.8)
    np.testing.assert_allclose(e, [0.6 + 0.285, 0.6 - 0.375, 0.6], rtol=0, atol=1e-15)
    assert (dis, ch) == ([0.0, 0.3, 0.0], [0.3, 0.0, 0.0])
    # eq (12): clipped into [0, E_max] (the projection's round-off)
    e, _, _ = acc.storage_energy_update([1.19, 0.1], [-0.3, 0.3], 1.0, 0.95, 0.8, 1.2)
    assert e == [1.2, 0.0]
    assert acc.soc_window_violation([0.1, 0.5, 0.9], 0.2, 0.8) == pytest.approx(0.2)


# ---------------------------------------------------------------------------- day data
def test_day_data_shapes_and_sources():
    d = CASE.day_data(DAY)
    assert d.load_p_mw.shape == d.load_q_mvar.shape == (24, 33)
    assert d.pv_available_mw.shape == (24, 5) and d.line_rating_mva.shape == (32,)
    assert d.price_usd_per_mwh.shape == d.carbon_intensity_t_per_mwh.shape == (24,)
    assert set(d.price_usd_per_mwh) == {34.2, 90.0, 153.0}
    assert 0.5 <= d.carbon_intensity_t_per_mwh.min() <= d.carbon_intensity_t_per_mwh.max() <= 0.6
    assert d.pv_available_mw.max() <= CFG.pv.rated_mw and d.pv_available_mw.max() > 0.1
    assert not d.load_p_mw.flags.writeable
    assert CASE.day_data("2016-07-01") is d  # cached


def test_forecast_day_keeps_the_past_and_the_tariff():
    actual = CASE.day_data(DAY)
    fc = CASE.day_data(DAY, "forecast", seed=0, issue_step=10)
    np.testing.assert_array_equal(fc.load_p_mw[:10], actual.load_p_mw[:10])
    np.testing.assert_array_equal(fc.pv_available_mw[:10], actual.pv_available_mw[:10])
    assert not np.array_equal(fc.load_p_mw[10:], actual.load_p_mw[10:])
    np.testing.assert_array_equal(fc.price_usd_per_mwh, actual.price_usd_per_mwh)
    # reactive loads keep the power factor
    mask = actual.load_p_mw > 0
    np.testing.assert_allclose(
        (fc.load_q_mvar / np.where(mask, fc.load_p_mw, 1))[mask],
        (actual.load_q_mvar / np.where(mask, actual.load_p_mw, 1))[mask],
    )
    now = nowcast_day(CFG, DAY, 0)
    np.testing.assert_array_equal(now.load_p_mw[10], fc.load_p_mw[10])
    with pytest.raises(ValueError, match="issue_step"):
        ses_carbon_day(CFG, DAY, info="forecast", issue_step=24)
    with pytest.raises(ValueError, match="information set"):
        ses_carbon_day(CFG, DAY, info="oracle")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- referee
def test_observation_layout_is_the_documented_nowcast():
    env, obs, _ = _env()
    assert obs.shape == (len(OBSERVATION_NAMES) + N_ST,)
    now = nowcast_day(CFG, DAY, CFG.forecast_seed)
    for t in range(3):
        expected = [
            t / 24,
            now.load_p_mw[t].sum(),
            now.load_q_mvar[t].sum(),
            now.pv_available_mw[t].sum(),
        ]
        np.testing.assert_allclose(obs[:4], expected, rtol=1e-6)
        assert obs[5] == pytest.approx(now.price_usd_per_mwh[t])
        assert obs[6] == pytest.approx(now.carbon_intensity_t_per_mwh[t], rel=1e-6)
        obs, *_rest, info = env.step(_action(st=(-0.3, 0, 0, 0, 0.3)))
        assert obs[4] == pytest.approx(info["tie_line_mw"], rel=1e-6)
        assert obs[8] == pytest.approx(info["carbon_net_t"], rel=1e-6)
        assert obs[7] == info["carbon_price_usd_per_t"]
        np.testing.assert_allclose(obs[10:], info["soc"], rtol=1e-6)
        assert env.observation_space.contains(obs)


def test_storage_energy_balance_over_a_scripted_day():
    env, _, _ = _env()
    st = CFG.storage
    script = np.zeros((24, N_ST))
    script[0:3, 0] = -0.3  # charge storage 1 for 3 h: full (1.2 MWh) within the third
    script[3:5, 0] = 0.3  # then discharge 2 h
    script[:, 1] = 0.3  # storage 2 discharges until the projection stops it at E = 0
    script[5:8, 2] = -0.2
    energy = np.full(N_ST, st.soc_init * st.energy_mwh)
    for t in range(24):
        lo, hi = storage_power_bounds(
            energy / st.energy_mwh, st.energy_mwh, st.p_max_mw, 1.0,
            soc_min=0.0, soc_max=1.0, eta_charge=0.95, eta_discharge=0.8,
        )  # fmt: skip
        p = np.clip(script[t], lo, hi)
        energy = np.array(acc.storage_energy_update(energy.tolist(), p.tolist(), 1.0, 0.95, 0.8)[0])
        *_, info = env.step(_action(st=script[t]))
        np.testing.assert_allclose(info["soc"] * st.energy_mwh, energy, rtol=0, atol=1e-12)
    # by hand: storage 1 = 0.6 + 2·0.95·0.3 = 1.17, + 0.03 (the third hour's charge is
    # projected to 0.03/0.95 MW) = 1.2, − 2·0.3/0.8 = 0.45; storage 3 = 0.6 + 3·0.95·0.2
    assert energy[0] == pytest.approx(1.2 - 0.75, abs=1e-12)
    assert energy[2] == pytest.approx(0.6 + 0.57, abs=1e-12)
    assert energy[1] == pytest.approx(0.0, abs=1e-12)  # emptied, never below


def test_one_step_costs_and_emissions_recomputed_independently():
    env, _, _ = _env()
    core = env.unwrapped.core
    for _ in range(11):  # reach a peak hour with PV
        env.step(_action())
    t = 11
    before = core.step_info(core.history("intraday")[-1])["carbon_net_t"]
    a = _action(gt=(0.1, 0.2, 0.3), st=(0.3, -0.2, 0.1, 0.0, -0.3))
    *_, info = env.step(a)
    validate_step_info(info)
    d = CASE.day_data(DAY)
    applied = core.applied_setpoints("intraday")[-1]
    np.testing.assert_allclose(applied, a, atol=1e-6)
    # independent AC power flow
    net_p = d.load_p_mw[t].copy()
    for k, bus in enumerate(CFG.pv.buses):
        net_p[bus - 1] -= d.pv_available_mw[t, k]
    for k, bus in enumerate(CFG.gas_turbine.buses):
        net_p[bus - 1] -= applied[k]
    for k, bus in enumerate(CFG.storage.buses):
        net_p[bus - 1] -= applied[N_GT + k]
    feeder = dataclasses.replace(load_grid("ieee33"), v_slack_pu=CFG.network.v_slack_pu)
    flow = RadialPowerFlow(feeder).solve(net_p, d.load_q_mvar[t])
    tie = float(flow.p_slack_mw)
    assert info["tie_line_mw"] == pytest.approx(tie, abs=1e-9)
    assert info["v_min_pu"] == pytest.approx(flow.vm_pu.min())
    gt, st = applied[:N_GT], applied[N_GT:]
    price, ci = d.price_usd_per_mwh[t], d.carbon_intensity_t_per_mwh[t]
    emissions = max(tie, 0.0) * ci + gt.sum() * 0.55
    assert info["emissions_t"] == pytest.approx(emissions, rel=1e-12)
    after = before + emissions - 0.42 * d.load_p_mw[t].sum()
    assert info["carbon_net_t"] == pytest.approx(after, rel=1e-12)
    expected = {
        "energy_purchase": price * tie,
        "gas_turbine_fuel": float(np.sum(100 * gt**2 + 80 * gt)),
        "storage_degradation": 20 * float(np.abs(st).sum()),
        "carbon_settlement": float(acc.carbon_settlement_usd(before, after, CFG.carbon)),
        "storage_terminal_energy": 0.0,  # settled at the last step only
    }
    assert tuple(info["cost"]) == COST_TERMS
    assert info["cost"] == pytest.approx(expected, rel=1e-9)
    assert info["network_carbon_intensity"] == pytest.approx(
        acc.network_carbon_intensity(
            tie, ci, gt.sum(), 0.55, d.pv_available_mw[t].sum(), np.maximum(st, 0.0).sum()
        )
    )
    assert info["reward_terms"]["energy_purchase"] == pytest.approx(-price * tie / 100.0)
    assert sum(info["reward_terms"].values()) == pytest.approx(env.unwrapped.core.history(
        "intraday")[-1].reward)  # fmt: skip
    assert info["paper_terms"]["ses"] == pytest.approx(price * float(-st.sum()))


def test_idle_day_costs_the_purchase_of_load_minus_pv_plus_losses():
    env, _, reset_info = _env()
    np.testing.assert_array_equal(reset_info["idle_action"], np.zeros(N_GT + N_ST))
    d = CASE.day_data(DAY)
    net = d.load_p_mw.copy()
    for k, bus in enumerate(CFG.pv.buses):
        net[:, bus - 1] -= d.pv_available_mw[:, k]
    feeder = dataclasses.replace(load_grid("ieee33"), v_slack_pu=CFG.network.v_slack_pu)
    losses = RadialPowerFlow(feeder).solve(net, d.load_q_mvar).total_loss_mw
    tie = d.load_p_mw.sum(1) - d.pv_available_mw.sum(1) + losses
    purchase, emissions, settlement, others = 0.0, 0.0, 0.0, 0.0
    for _ in range(N_STEPS):
        *_, info = env.step(reset_info["idle_action"])
        purchase += info["cost"]["energy_purchase"]
        settlement += info["cost"]["carbon_settlement"]
        others += info["cost"]["gas_turbine_fuel"] + info["cost"]["storage_degradation"]
        others += info["cost"]["storage_terminal_energy"]
        emissions += info["emissions_t"]
        assert info["soc_violation"] == 0.0
    assert purchase == pytest.approx(float(d.price_usd_per_mwh @ tie), rel=1e-9)
    assert emissions == pytest.approx(float(d.carbon_intensity_t_per_mwh @ tie), rel=1e-9)
    allowance = 0.42 * d.load_p_mw.sum()
    assert settlement == pytest.approx(
        float(acc.ladder_carbon_cost(emissions, allowance, CFG.carbon)), rel=1e-9
    )
    assert others == 0.0


@pytest.mark.parametrize("value", [None, 50.0, 0.0])
def test_terminal_energy_is_settled_at_the_last_step_and_in_its_reward(value):
    case = SesCarbonCase({"storage": {"terminal_value_usd_per_mwh": value}})
    env = case.make_env(day=DAY, seed=0)
    env.reset(seed=0)
    price = 36.0 if value is None else value
    # storage 1 discharges 3 h (0.6 − 3·0.3/0.8 = −0.525: emptied within the third hour),
    # storage 2 charges 1 h (0.6 + 0.95·0.2 = 0.79), storage 3 discharges 1 h (0.6 − 0.125)
    script = np.zeros((24, N_ST))
    script[5:8, 0] = 0.3
    script[12, 1] = -0.2
    script[20, 2] = 0.1
    infos = []
    for t in range(24):
        *_, info = env.step(_action(st=script[t]))
        infos.append(info)
    terms = [i["cost"]["storage_terminal_energy"] for i in infos]
    assert terms[:-1] == [0.0] * 23
    end = infos[-1]["soc"] * CFG.storage.energy_mwh
    np.testing.assert_allclose(end, [0.0, 0.79, 0.475, 0.6, 0.6], rtol=0, atol=1e-12)
    # by hand: π_T·((0.6 − 0) + (0.6 − 0.79) + (0.6 − 0.475)) = π_T·0.535
    assert terms[-1] == pytest.approx(price * 0.535, abs=1e-9)
    assert terms[-1] == pytest.approx(
        acc.terminal_energy_settlement(np.full(N_ST, 0.6), end, price), abs=1e-12
    )
    last = infos[-1]["reward_terms"]["storage_terminal_energy"]
    assert last == pytest.approx(-terms[-1] / CFG.reward.scale_usd, abs=1e-12)
    params = env.unwrapped.core.schedule_parameters()["storage"]
    assert params["terminal_price_usd_per_mwh"] == pytest.approx(price)
    assert params["energy_start_mwh"] == [0.6] * N_ST


def test_non_finite_and_out_of_range_actions_are_projected():
    env, _, _ = _env()
    bad = np.array([np.nan, np.inf, -np.inf, 5.0, -5.0, np.nan, 0.1, -1e30], dtype=np.float32)
    *_, info = env.step(bad)
    applied = env.unwrapped.core.applied_setpoints("intraday")[-1]
    np.testing.assert_allclose(applied, [0.0, 0.3, 0.0, 0.3, -0.3, 0.0, 0.1, -0.3], atol=1e-7)
    assert info["projection"]["n_nonfinite"] == 4
    assert info["projection"]["n_clipped"] == 3
    # an empty storage cannot discharge: the hard energy limit of eq (12)
    for _ in range(3):
        *_, info = env.step(_action(st=(0.3,) * 5))
    assert info["soc"].min() >= 0.0 and info["soc"].min() == pytest.approx(0.0, abs=1e-12)
    *_, info = env.step(_action(st=(0.3,) * 5))
    assert info["projection"]["n_clipped"] >= 1
    assert info["soc_violation"] == pytest.approx(N_ST * 0.2, abs=1e-9)
    assert info["reward_terms"]["soc_penalty"] == pytest.approx(-500 * 1.2 * 0.2 * N_ST / 100)


def test_step_bounds_equal_storage_power_bounds():
    env, _, _ = _env()
    core = env.unwrapped.core
    st = CFG.storage
    for soc in (np.zeros(N_ST), np.ones(N_ST), np.random.default_rng(1).uniform(0, 1, N_ST)):
        core.energy_mwh = soc * st.energy_mwh
        low, high = core.step_bounds()
        lo, hi = storage_power_bounds(
            soc, st.energy_mwh, st.p_max_mw, 1.0, soc_min=0.0, soc_max=1.0,
            eta_charge=st.eta_charge, eta_discharge=st.eta_discharge,
        )  # fmt: skip
        np.testing.assert_allclose(low[N_GT:], lo, rtol=1e-15, atol=1e-15)
        np.testing.assert_allclose(high[N_GT:], hi, rtol=1e-15, atol=1e-15)
        np.testing.assert_array_equal(low[:N_GT], 0.0)
        np.testing.assert_array_equal(high[:N_GT], 0.3)


def test_penalty_free_bounds_keep_the_soc_window_hand_checked():
    """E = 1.2 MWh, p_max = 0.3 MW, η_ch = 0.95, η_dis = 0.8, window 0.2–0.8, Δt = 1 h:
    SOC 0.5 → [−0.3, 0.288] (discharge to 0.2 is 0.3·1.2·0.8 MW at the grid); SOC 0.25 →
    [−0.3, 0.048]; SOC 0.78 → [−0.02·1.2/0.95, 0.3]; SOC 0.1 (below the window) → [−0.3, 0]:
    only charging back, or idling. The turbines keep their static box [0, 0.3]."""
    env, _, _ = _env()
    core = env.unwrapped.core
    expected = {0.5: (-0.3, 0.288), 0.25: (-0.3, 0.048), 0.78: (-0.024 / 0.95, 0.3),
                0.1: (-0.3, 0.0)}  # fmt: skip
    for soc, (lo, hi) in expected.items():
        core.energy_mwh = np.full(N_ST, soc * CFG.storage.energy_mwh)
        low, high = core.penalty_free_step_bounds()
        np.testing.assert_allclose(low[N_GT:], lo, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(high[N_GT:], hi, rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(low[:N_GT], 0.0)
        np.testing.assert_array_equal(high[:N_GT], 0.3)
    # the info's box is that box inside the feasible one; a step at its bounds pays no penalty
    core.energy_mwh = np.full(N_ST, 0.5 * CFG.storage.energy_mwh)
    boxes = core.next_boxes()
    np.testing.assert_allclose(boxes["next_penalty_free_high"][N_GT:], 0.288, rtol=1e-12)
    np.testing.assert_allclose(boxes["next_action_high"][N_GT:], 0.3)
    *_, info = env.step(boxes["next_penalty_free_high"])
    np.testing.assert_allclose(info["soc"], 0.2, rtol=1e-12)
    assert info["soc_violation"] == 0.0 and info["reward_terms"]["soc_penalty"] == 0.0


def test_registered_and_case_api():
    case = make_case("ses-carbon-ieee33-v0")
    assert isinstance(case, SesCarbonCase)
    assert (case.steps, case.step_hours, case.grid) == (24, 1.0, "ieee33")
    assert len(case.days("test")) == 73 and "Processes 12 (2024) 1791" in case.paper


def test_step_projection_report_is_measured_between_raw_and_applied():
    """The referee's fast path reuses the box projection's report: it must equal the report
    measured between the raw action and the executed setpoints, for any action."""
    from gridbench.cases.projection import measure_projection

    env, _, _ = _env()
    env.reset(seed=0)
    rng = np.random.default_rng(3)
    low, high = env.action_space.low, env.action_space.high
    for k in range(24):
        a = rng.uniform(low, high).astype(np.float32) * rng.choice([0.5, 1.0, 3.0])
        if k % 4 == 1:
            a[k % a.size] = np.nan
        elif k % 4 == 2:
            a[k % a.size] = -np.inf
        *_, info = env.step(a)
        record = env.unwrapped.core.history("intraday")[-1]
        expected = measure_projection(np.asarray(a, dtype=np.float64), record.applied)
        assert info["projection"] == expected.to_info()


def test_the_step_boxes_are_computed_once_per_step_and_fresh_after_a_reset():
    """The referee caches the current step's boxes (the projection and the info's
    ``next_*`` keys share them): after a step and after a reset to another day with another
    state they equal the core's own bounds computed afresh, and modifying an info's box does
    not touch the referee's."""
    import gridbench

    case = gridbench.make_case("ses-carbon-ieee33-v0")
    env = case.make_env(day=datetime.date(2016, 7, 1), seed=0)
    core = env.unwrapped.core

    def fresh():
        (h_low, h_high), soft = core.step_boxes()
        s_low, s_high = core.layer_action_bounds(core.layer)
        return np.maximum(h_low, s_low), np.minimum(h_high, s_high), soft

    _, info = env.reset(seed=0)
    high = np.asarray(env.action_space.high)
    for _ in range(5):  # discharge: the state (and the boxes) move every step
        _, _, _, _, info = env.step(high)
    low, up, soft = fresh()
    assert np.array_equal(core.current_bounds()[0], low)
    assert np.array_equal(info["next_action_high"], up)
    info["next_action_high"][:] = 0.0
    assert np.array_equal(core.current_bounds()[1], up)
    env.reset(seed=0, options={"day": datetime.date(2016, 1, 11)})
    low, up, soft = fresh()
    assert np.array_equal(core.current_bounds()[0], low)
    assert np.array_equal(core.current_bounds()[1], up)
    assert np.array_equal(core.next_boxes()["next_penalty_free_low"], np.clip(soft[0], low, up))
