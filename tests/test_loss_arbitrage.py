"""Loss-arbitrage case: the F_a model, the referee (bounds under any action), hand-checkable
two-bus instances of the formulation and the referee, weather data, config errors."""

from __future__ import annotations

import datetime
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridbench.cases.contracts import CaseConfigError
from gridbench.cases.grid import RadialFeeder, RadialPowerFlow
from gridbench.cases.loss_arbitrage import storage
from gridbench.cases.loss_arbitrage.case import CASE_ID, LossArbitrageCase
from gridbench.cases.loss_arbitrage.config import (
    DEFAULT_BATTERY,
    LossArbitrageConfig,
)
from gridbench.cases.loss_arbitrage.core import DayPair, LossArbitrageCore
from gridbench.cases.loss_arbitrage.day import (
    LossArbitrageDay,
    ambient_temperature_c,
    weather_metadata,
)
from gridbench.cases.loss_arbitrage.formulation import LossArbitrageFormulation
from gridbench.cases.referee import RefereeEnv
from gridbench.cases.registry import make_case

DAY = datetime.date(2016, 1, 11)  # a test day, −11.7…2.8 °C: the cold terms matter

# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def case() -> LossArbitrageCase:
    return make_case(CASE_ID)  # type: ignore[return-value]


# ----------------------------------------------------------------------------- hand instance
# Two buses (substation 1, load bus 2), one resistive line (X = 0), base 1 kV so that
# z_pu = z_ohm, constant load P_L = 1 MW (Q = 0), one battery at bus 2 (1 MWh, 0.2 MW, window
# 0.1–0.9, starts at 0.5, no polarization), tariff 40 $/MWh (0–6, 20–24 h) / 120 $/MWh (6–20 h).
#
# Optimal schedule (both instances below): discharging one more MWh at the peak earns about
# 120 $ and recharging it in the valley costs about 40 $, so the energy window is used in
# full: 0–6 h charge 0.5 → 0.9 MWh, 6–20 h discharge 0.9 → 0.1, 20–24 h charge 0.1 → 0.5. The
# costs inside each window (joule heat ρx², line losses R·I²) are strictly convex in the
# power and the price is constant there, so the power is constant within each window
# (Jensen). With two cycles allowed the cycle budget does not bind.
#
# A (lossless line, joule loss ρ = r_J / P_max = 0.02 / 0.2 = 0.1 /MW, converters ideal):
#   cell energy per hour: discharge x + ρx², charge |x| − ρx² (S1), so
#   x_d = (−1 + √(1 + 4ρ·0.8/14)) / 2ρ, x_c1 = (1 − √(1 − 4ρ·0.4/6)) / 2ρ,
#   x_c2 = (1 − √(1 − 4ρ·0.1)) / 2ρ;  revenue = 120·14·x_d − 40·(6·x_c1 + 4·x_c2).
# B (line R = 0.02 Ω = 0.02 pu, lossless storage): x_d = 0.8/14, x_c1 = 0.4/6, x_c2 = 0.1;
#   at net demand D the line carries I = (1 − √(1 − 4RD)) / 2R (D = V₂·I, V₂ = 1 − R·I) and
#   loses L(D) = R·I²;  revenue = Σ_t β_t·(L(1) − L(D_t) + p_t).

P_LOAD = 1.0
PRICE = np.array([40.0] * 6 + [120.0] * 14 + [40.0] * 4)


def _hand_config(joule: float, eta: float = 1.0) -> LossArbitrageConfig:
    battery = DEFAULT_BATTERY.model_copy(
        update={
            "buses": (2,),
            "p_max_mw": 0.2,
            "energy_mwh": 1.0,
            "eta_charge": eta,
            "eta_discharge": eta,
            "joule_loss_at_rated": joule,
            "polarization_at_rated": 0.0,
            "f_min": 0.1,
            "f_max": 0.9,
            "soc_init": 0.5,
            "state_of_health": 1.0,
        }
    )
    supercap = DEFAULT_BATTERY.model_copy(update={"buses": ()})
    return LossArbitrageConfig(
        battery=battery,
        supercapacitor=supercap,
        max_cycles_per_day=2.0,
        network={"v_slack_pu": 1.0, "v_min_pu": 0.9, "v_max_pu": 1.1},
    )


def _two_bus(r_ohm: float) -> RadialFeeder:
    return RadialFeeder(
        name="two-bus",
        base_kv=1.0,
        from_bus=np.array([0]),
        to_bus=np.array([1]),
        r_ohm=np.array([r_ohm]),
        x_ohm=np.array([0.0]),
        load_p_mw=np.array([0.0, P_LOAD]),
        load_q_mvar=np.array([0.0, 0.0]),
        rate_mva=np.array([math.inf]),
        v_slack_pu=1.0,
    )


def _two_bus_day(grid: RadialFeeder) -> LossArbitrageDay:
    load_p = np.tile([0.0, P_LOAD], (24, 1))
    load_q = np.zeros((24, 2))
    base = RadialPowerFlow(grid).solve(load_p, load_q).loss_p_mw.sum(axis=1)
    return LossArbitrageDay(
        day=DAY,
        info="actual",
        issue_step=0,
        load_p_mw=load_p,
        load_q_mvar=load_q,
        price_usd_per_mwh=PRICE.copy(),
        ambient_c=np.full(24, 25.0),
        base_loss_mw=base,
    )


def _hand_schedule(rho: float) -> np.ndarray:
    def charge(e: float) -> float:
        return (1.0 - math.sqrt(1.0 - 4.0 * rho * e)) / (2.0 * rho) if rho else e

    x_d = (-1.0 + math.sqrt(1.0 + 4.0 * rho * 0.8 / 14)) / (2.0 * rho) if rho else 0.8 / 14
    x_c1, x_c2 = charge(0.4 / 6), charge(0.1)
    return np.array([-x_c1] * 6 + [x_d] * 14 + [-x_c2] * 4)


def _line_loss(r: float, demand: float) -> float:
    current = (1.0 - math.sqrt(1.0 - 4.0 * r * demand)) / (2.0 * r)
    return r * current * current


def _hand_revenue(rho: float, r_line: float) -> float:
    x = _hand_schedule(rho)
    arbitrage = float(PRICE @ x)
    if r_line == 0.0:
        return arbitrage
    base = _line_loss(r_line, P_LOAD)
    loss = sum(b * (base - _line_loss(r_line, P_LOAD - xi)) for b, xi in zip(PRICE, x, strict=True))
    return arbitrage + loss


HAND = [pytest.param(0.02, 0.0, id="A-joule-lossless-line"), pytest.param(0.0, 0.02, id="B-line")]


def test_hand_values_written_out():
    """The two derivations evaluated: these are the numbers the paper derivation gives."""
    assert _hand_revenue(0.1, 0.0) == pytest.approx(63.1862, abs=1e-4)
    assert _hand_revenue(0.0, 0.02) == pytest.approx(66.5399, abs=1e-4)


@pytest.mark.parametrize(("joule", "r_line"), HAND)
def test_oracle_on_two_bus_instance_matches_the_hand_derivation(joule, r_line):
    config = _hand_config(joule)
    grid = _two_bus(r_line)
    form = LossArbitrageFormulation(config, grid=grid)
    form.update(_two_bus_day(grid))
    result = form.solve(dpp=False)
    assert result.ok, result.message
    rho = joule / 0.2
    expected = _hand_revenue(rho, r_line)
    assert -result.objective == pytest.approx(expected, rel=1e-6)
    plan = form.plan()
    np.testing.assert_allclose(plan.dc_mw[:, 0], _hand_schedule(rho), atol=2e-5)
    if r_line > 0:  # a lossless line leaves ℓ free (it costs nothing): no gap to speak of
        assert result.relaxation_gap < 1e-6
    else:  # ideal storage (ρ = 0, η = 1) may overlap charge and discharge at no cost
        assert result.storage_gap_mwh < 1e-6


@pytest.mark.parametrize(("joule", "r_line"), HAND)
def test_referee_on_two_bus_instance_matches_the_hand_derivation(joule, r_line):
    config = _hand_config(joule)
    grid = _two_bus(r_line)
    data = _two_bus_day(grid)
    core = LossArbitrageCore(config, grid=grid, day_source=lambda d: DayPair(data, data))
    env = RefereeEnv(core, day=DAY, seed=0)
    env.reset(seed=0)
    rho = joule / 0.2
    total = 0.0
    for x in _hand_schedule(rho):
        *_, info = env.step(np.array([x], dtype=np.float32))
        total += sum(info["cost"].values())
    assert -total == pytest.approx(_hand_revenue(rho, r_line), rel=1e-6)
    assert info["energy_mwh"][0] == pytest.approx(0.5, abs=1e-9)
    assert info["soc_violation"] == 0.0


def test_cycle_budget_binds_in_the_referee():
    """0.1 cycle a day = 2 · 0.1 · 0.8 = 0.16 MWh of DC throughput (lossless device). The
    way back to E(0) = 0.5 must stay affordable, so a full-power discharge (0.2 MW) stops at
    half the budget, 0.08 MWh; full-power charging afterwards brings the cell back to 0.5 and
    spends the rest; nothing moves afterwards and the day ends on target."""
    config = _hand_config(0.0).model_copy(update={"max_cycles_per_day": 0.1})
    grid = _two_bus(0.0)
    data = _two_bus_day(grid)
    core = LossArbitrageCore(config, grid=grid, day_source=lambda d: DayPair(data, data))
    env = RefereeEnv(core, day=DAY, seed=0)
    env.reset(seed=0)
    *_, info = env.step(np.array([0.2], dtype=np.float32))
    assert info["energy_mwh"][0] == pytest.approx(0.5 - 0.08, abs=1e-6)
    # (lossless, the band's slack is flat along the way back: its edges are found to ~1e-5)
    assert info["projection"]["n_clipped"] == 1
    *_, info = env.step(np.array([-0.2], dtype=np.float32))
    assert info["energy_mwh"][0] == pytest.approx(0.5, abs=1e-5)
    assert info["budget_left_mwh"][0] == pytest.approx(0.0, abs=1e-5)
    for _ in range(22):
        *_, info = env.step(np.array([-0.2], dtype=np.float32))
    assert info["cycles"][0] == pytest.approx(0.1)
    assert info["energy_mwh"][0] == pytest.approx(0.5, abs=1e-6)
    assert info["soc_violation"] <= 1e-6


def test_reachability_band_forces_the_way_back_in_time():
    """Lossless device, rating 0.2 MW, E(0) = 0.5 MWh, window [0.1, 0.9], 2 cycles: charging
    at the rating every hour fills the cell to 0.9 (hour 2 ends at 0.9: 0.5 + 0.2 + 0.2), it
    stays full while 0.4 MWh can still be discharged in the hours left, then the band makes
    it discharge 0.2 MWh in each of the last two hours and the day ends at exactly 0.5."""
    config = _hand_config(0.0)
    grid = _two_bus(0.0)
    data = _two_bus_day(grid)
    core = LossArbitrageCore(config, grid=grid, day_source=lambda d: DayPair(data, data))
    env = RefereeEnv(core, day=DAY, seed=0)
    env.reset(seed=0)
    energy = []
    for _ in range(24):
        *_, info = env.step(np.array([-np.inf], dtype=np.float32))
        energy.append(info["energy_mwh"][0])
    expected = [0.7, 0.9] + [0.9] * 20 + [0.7, 0.5]
    np.testing.assert_allclose(energy, expected, atol=1e-6)
    assert info["soc_violation"] <= 1e-6  # the metrics' feasibility tolerance
    assert info["cost"]["terminal_energy"] == pytest.approx(0.0, abs=1e-4)


# ----------------------------------------------------------------------------- the F_a model


def test_polarization_is_large_in_the_cold():
    dev = LossArbitrageConfig().devices()
    cold, ref = storage.polarization_coeff(dev, -10.0), storage.polarization_coeff(dev, 25.0)
    battery = np.array([k == "battery" for k in dev.kind])
    # B = 4000 K: exp(4000·(1/263.15 − 1/298.15)) ≈ 5.96; supercapacitor B = 1500 K: ≈ 1.95
    np.testing.assert_allclose((cold / ref)[battery], math.exp(4000 * (1 / 263.15 - 1 / 298.15)))
    np.testing.assert_allclose((cold / ref)[~battery], math.exp(1500 * (1 / 263.15 - 1 / 298.15)))
    # at T_ref and rated current the battery locks φ = 3 % of its capacity
    x = dev.p_max / dev.eta_d
    np.testing.assert_allclose((ref * x / dev.e_cap)[battery], 0.03 / 0.97)


def test_compiled_polarization_equals_the_formula():
    """One temperature per device takes the compiled kernel; (S2) written out gives the same."""
    dev = LossArbitrageConfig().devices()
    temps = np.linspace(-30.0, 45.0, dev.n)
    expected = dev.pol * np.exp(dev.pol_b * (1.0 / (temps + 273.15) - 1.0 / dev.pol_ref_k))
    np.testing.assert_allclose(storage.polarization_coeff(dev, temps), expected, rtol=1e-14)
    np.testing.assert_allclose(storage.polarization_coeff(dev, temps[:1])[0], expected[0])


def test_advance_rows_accounting():
    """The accounting rows of the compiled step: cycles, SOC and arbitrage revenue."""
    dev = LossArbitrageConfig().devices()
    p = np.linspace(-0.1, 0.1, dev.n)
    kappa = storage.polarization_coeff(dev, np.full(dev.n, 20.0))
    rows = storage.advance_rows(
        dev, p, dev.e_init, kappa, np.full(dev.n, 20.0), dev.budget, 20.0, np.ones(dev.n), 1.0,
        price=50.0,
    )  # fmt: skip
    assert rows.shape == (len(storage.ADVANCE_ROWS), dev.n)
    e2, _avail, _temp, left, _heat = storage.advance(
        dev, p, dev.e_init, kappa, np.full(dev.n, 20.0), dev.budget, 20.0, np.ones(dev.n), 1.0
    )
    np.testing.assert_array_equal(rows[0], e2)
    np.testing.assert_allclose(rows[5], (dev.budget - left) / (2 * dev.window))
    np.testing.assert_allclose(rows[6], e2 / dev.e_cap)
    np.testing.assert_allclose(rows[7], 50.0 * p)


@pytest.mark.parametrize("temp", [-20.0, 0.0, 25.0, 40.0])
def test_power_bounds_are_the_exact_edges_of_the_window(temp):
    dev = LossArbitrageConfig().devices()
    rng = np.random.default_rng(int(temp) + 50)
    for _ in range(50):
        energy = rng.uniform(dev.f_min, dev.f_max)
        kappa = storage.polarization_coeff(dev, temp)
        budget = rng.uniform(0, dev.budget)
        low, high = storage.power_bounds(dev, energy, kappa, budget, 1.0)
        for p in (low, high):
            x = storage.dc_power(p, dev)
            avail = storage.available_after(storage.energy_after(energy, x, dev, 1.0), x, kappa)
            assert np.all(avail >= dev.f_min - 1e-12) and np.all(avail <= dev.f_max + 1e-12)
            assert np.all(np.abs(x) <= budget + 1e-12)
        # each bound is tight: rating, budget or the window edge
        x_hi = storage.dc_power(high, dev)
        edge = storage.available_after(storage.energy_after(energy, x_hi, dev, 1.0), x_hi, kappa)
        tight = (
            np.isclose(high, dev.p_max)
            | np.isclose(x_hi, budget)
            | np.isclose(edge, dev.f_min)
            | (x_hi == 0.0)
        )
        assert tight.all()


_ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True, width=64)


@pytest.mark.filterwarnings("ignore:overflow encountered")
@settings(max_examples=150, deadline=None)
@given(
    energy_frac=st.floats(0.0, 1.0),
    temp=st.floats(-40.0, 60.0),
    budget_frac=st.floats(0.0, 1.0),
    action=st.lists(_ANY_FLOAT, min_size=8, max_size=8),
    terminal=st.booleans(),
)
def test_any_projected_action_keeps_available_energy_in_its_window(
    energy_frac, temp, budget_frac, action, terminal
):
    """Property of (S1)–(S4) and the bounds: from any state in the window, at any temperature
    and remaining budget, any action (NaN, ±inf included) projected onto the step's box leaves
    E and F_a in [F_min, F_max] and spends at most the budget."""
    from gridbench.cases.projection import project_onto_box

    dev = LossArbitrageConfig().devices()
    energy = dev.f_min + energy_frac * dev.window
    kappa = storage.polarization_coeff(dev, np.full(dev.n, temp))
    budget = budget_frac * dev.budget
    target = dev.e_init if terminal else None
    low, high = storage.power_bounds(dev, energy, kappa, budget, 1.0, target)
    assert np.all(low <= high)
    p, _ = project_onto_box(np.array(action), low, high, np.zeros(dev.n))
    e2, avail, _temp, left, _heat = storage.advance(
        dev, p, energy, kappa, np.full(dev.n, temp), budget, temp, np.ones(dev.n), 1.0
    )
    x = storage.dc_power(p, dev)
    exact_e = storage.energy_after(energy, x, dev, 1.0)
    exact_a = storage.available_after(exact_e, x, kappa)
    tol = 1e-12
    assert np.all(exact_e >= dev.f_min - tol) and np.all(exact_e <= dev.f_max + tol)
    assert np.all(exact_a >= dev.f_min - tol) and np.all(exact_a <= dev.f_max + tol)
    assert np.all(np.abs(x) <= budget + tol)
    np.testing.assert_allclose(e2, exact_e, atol=tol)
    np.testing.assert_allclose(avail, exact_a, atol=tol)
    assert np.all(left >= 0.0)


# ----------------------------------------------------------------------------- referee


@pytest.mark.filterwarnings("ignore:overflow encountered")  # 1e300 in the shared projection
def test_referee_never_lets_available_energy_leave_its_window(case):
    """Property: random, extreme and non-finite actions keep F_a, E and the budget in bounds."""
    env = case.make_env(day=DAY, seed=3)
    dev = case.config.devices()
    rng = np.random.default_rng(3)
    specials = [np.nan, np.inf, -np.inf, 1e300, -1e300, 0.0]
    for episode in range(6):
        env.reset(seed=episode)
        done = False
        while not done:
            mode = rng.integers(3)
            if mode == 0:
                a = rng.uniform(-1, 1, dev.n) * dev.p_max * 3
            elif mode == 1:
                a = rng.choice(specials, dev.n)
            else:
                a = np.where(rng.random(dev.n) < 0.5, dev.p_max, -dev.p_max)
            _obs, _r, done, _t, info = env.step(a)
            avail, energy = info["available_mwh"], info["energy_mwh"]
            assert np.all(avail >= dev.f_min - 1e-12) and np.all(avail <= dev.f_max + 1e-12)
            assert np.all(energy >= dev.f_min - 1e-12) and np.all(energy <= dev.f_max + 1e-12)
            assert np.all(info["budget_left_mwh"] >= 0.0)
            assert np.all(info["cycles"] <= case.config.max_cycles_per_day + 1e-12)


@pytest.fixture(scope="module")
def day_env(case):
    return case.make_env(day=DAY, seed=0)


@pytest.mark.filterwarnings("ignore:overflow encountered")
@settings(max_examples=25, deadline=None)
@given(actions=st.lists(st.lists(_ANY_FLOAT, min_size=8, max_size=8), min_size=24, max_size=24))
def test_referee_keeps_the_window_for_any_day_of_actions(day_env, actions):
    """Property through the environment: a whole day of arbitrary actions keeps the window and
    the budget, and the reachability band brings every cell back to E(0) by midnight (within
    the metrics' feasibility tolerance)."""
    env = day_env
    dev = env.unwrapped.core.dev
    env.reset(seed=0)
    for a in actions:
        *_, info = env.step(np.array(a))
        for key in ("available_mwh", "energy_mwh"):
            assert np.all(info[key] >= dev.f_min - 1e-12) and np.all(info[key] <= dev.f_max + 1e-12)
        assert np.all(info["budget_left_mwh"] >= 0.0)
    np.testing.assert_allclose(info["energy_mwh"], dev.e_init, atol=1e-6)
    assert info["soc_violation"] <= 1e-6


def test_idle_day_costs_nothing_and_loss_baseline_is_the_same_power_flow(case):
    env = case.make_env(day=DAY, seed=0)
    env.reset(seed=0)
    for _ in range(24):
        *_, info = env.step(np.zeros(8, dtype=np.float32))
        assert info["losses_mw"] == pytest.approx(info["base_losses_mw"], abs=1e-12)
        assert sum(info["cost"].values()) == pytest.approx(0.0, abs=1e-9)


def test_terminal_step_returns_to_the_initial_energy(case):
    """Charging all day at the rating: the last step is steered back where reachable, the
    rest is penalized and reported as a SOC violation."""
    env = case.make_env(day=DAY, seed=0)
    env.reset(seed=0)
    dev = case.config.devices()
    for t in range(24):  # an hour at 10 % of the rating, then idle; the last step is steered
        *_, info = env.step((0.1 * dev.p_max * (t == 3)).astype(np.float32))
    np.testing.assert_allclose(info["energy_mwh"], dev.e_init, atol=1e-9)
    assert info["cost"]["terminal_energy"] == pytest.approx(0.0, abs=1e-6)
    env.reset(seed=0)
    for _ in range(24):
        *_, info = env.step(np.full(8, -1.0, dtype=np.float32))
    miss = np.abs(info["energy_mwh"] - dev.e_init)
    assert info["cost"]["terminal_energy"] == pytest.approx(
        case.config.terminal_penalty_usd_per_mwh * miss.sum()
    )
    assert info["soc_violation"] == pytest.approx((miss / dev.e_cap).sum())


def test_oracle_plan_replays_feasibly_and_at_its_own_value(case):
    form = LossArbitrageFormulation(case.config)
    form.update(case.day_data(DAY))
    result = form.solve(dpp=False)
    assert result.ok and result.relaxation_gap < 1e-6 and result.storage_gap_mwh < 1e-6
    plan = form.plan()
    env = case.make_env(day=DAY, seed=0)
    env.reset(seed=0)
    total, moved = 0.0, 0.0
    for k in range(24):
        *_, info = env.step(plan.action(k))
        total += sum(info["cost"].values())
        moved += info["projection"]["distance"]
    assert total == pytest.approx(result.objective, rel=1e-6)
    assert moved < 1e-5
    assert plan.revenue_usd == pytest.approx(-result.objective, rel=1e-6)


# ----------------------------------------------------------------------------- data, config


def test_weather_comes_from_the_installed_pvlib_tmy3():
    meta = weather_metadata("723170TYA.CSV")
    assert meta["USAF"] == 723170 and meta["TZ"] == -5.0
    jan, jul = ambient_temperature_c("723170TYA.CSV", DAY), ambient_temperature_c(
        "723170TYA.CSV", datetime.date(2016, 7, 11)
    )
    assert jan.shape == (24,) and jan.min() == pytest.approx(-11.7)
    assert jul.mean() > 20.0
    # 29 February takes 28 February, 1 March the TMY's 1 March
    np.testing.assert_array_equal(
        ambient_temperature_c("723170TYA.CSV", datetime.date(2016, 2, 29)),
        ambient_temperature_c("723170TYA.CSV", datetime.date(2016, 2, 28)),
    )


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ({"tariff": "flat"}, "unknown tariff 'flat'"),
        ({"weather_file": "x.csv"}, "unknown weather_file 'x.csv'"),
        ({"battery": {**DEFAULT_BATTERY.model_dump(), "buses": (1,)}}, "outside 2..33"),
        ({"battery": {**DEFAULT_BATTERY.model_dump(), "f_min": 0.9, "f_max": 0.1}}, "inverted"),
        ({"supercapacitor": {**DEFAULT_BATTERY.model_dump(), "buses": (13,)}}, "hold a battery"),
        ({"typo": 1}, "typo"),
    ],
)
def test_bad_config_is_one_line_naming_the_value(config, needle):
    with pytest.raises(CaseConfigError, match=needle) as err:
        LossArbitrageCase(config)
    assert "\n" not in str(err.value)
