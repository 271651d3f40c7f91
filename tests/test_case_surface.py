"""The case surface (:class:`~gridbench.cases.contracts.PlanningCase`) of every registered
built-in case: the action layout and observation names match the referee's spaces, the day
data carry the referee's forecast errors by default, and the cases with one formulation offer
what the generic planners need."""

from __future__ import annotations

import numpy as np
import pytest

from gridbench.cases.contracts import (
    ActionEntry,
    ActionLayout,
    DayData,
    FormulatedCase,
    PlanningCase,
)
from gridbench.cases.kpi import NEXT_BOX_KEYS
from gridbench.cases.referee import DispatchCore
from gridbench.cases.registry import case_ids, make_case

BUILT_IN = tuple(i for i in case_ids() if not i.startswith(("toy", "test")))
#: Cases whose day is one formulation over the executed layer (the generic planners).
FORMULATED = ("ses-carbon-ieee33-v0", "loss-arbitrage-ieee33-v0")


@pytest.fixture(scope="module", params=BUILT_IN)
def case(request):
    return make_case(request.param)


def test_every_built_in_case_offers_the_planning_surface(case):
    assert isinstance(case, PlanningCase)
    assert isinstance(case, FormulatedCase) == (case.id in FORMULATED)


def test_layout_and_observation_names_match_the_referee(case):
    env = case.make_env(day=case.days("test")[0], seed=0)
    layout = case.action_layout()
    assert len(layout) == env.action_space.shape[0]
    names = case.observation_names()
    assert len(names) == env.observation_space.shape[0] == len(set(names))
    assert names[0] == "hour_fraction"
    obs, _ = env.reset(seed=0)
    assert obs[0] == 0.0  # the day starts at midnight
    layers = {spec.layer.value for spec in case.timeline}
    for entry in layout:
        # setpoints in MW; a leader's posted prices (Stackelberg) in $/MWh
        assert entry.unit in ("MW", "$/MWh") and set(entry.layers) <= layers
        assert entry.bus is None or entry.bus >= 1  # buses are numbered from 1


def test_day_data_shows_the_referees_forecast_errors_by_default(case):
    day = case.days("val")[0]
    actual = case.day_data(day)
    assert isinstance(actual, DayData) and actual.info == "actual"
    default = case.day_data(day, "forecast", issue_step=3)
    own = case.day_data(day, "forecast", issue_step=3, seed=case.config.forecast_seed)
    other = case.day_data(day, "forecast", issue_step=3, seed=case.config.forecast_seed + 1)
    np.testing.assert_array_equal(default.load_p_mw, own.load_p_mw)
    assert not np.array_equal(default.load_p_mw, other.load_p_mw)
    assert default.issue_step == 3 and default.n_steps == actual.n_steps
    # rows before the issue step are already realized
    np.testing.assert_array_equal(default.load_p_mw[:3], actual.load_p_mw[:3])


@pytest.mark.parametrize("case_id", FORMULATED)
def test_measured_state_is_what_the_formulation_updates_from(case_id):
    case = make_case(case_id)
    day = case.days("test")[0]
    env = case.make_env(day=day, seed=0)
    obs, info = env.reset(seed=0)
    start = case.measured_state(obs, info)
    form = case.formulation()
    form.update(case.day_data(day), t0=0, **start)  # accepted as keyword arguments
    obs, _, _, _, info = env.step(env.unwrapped.idle_action())
    later = case.measured_state(obs, info, day_start=start)
    # from the observation alone (a caller without the referee's info) the same state
    bare = case.measured_state(obs, {"cost": {}})
    for key, value in bare.items():
        if key in later and key != "soc_day_start":
            np.testing.assert_allclose(value, later[key], rtol=1e-6, atol=1e-6)
    form.update(case.day_data(day, "forecast", issue_step=1), t0=1, **later)


def test_action_layout_names_are_unique_and_indexable():
    layout = ActionLayout(
        (ActionEntry("gt_1", "gas_turbine", 7), ActionEntry("ses_1", "storage", 8))
    )
    assert layout.names == ("gt_1", "ses_1") and layout.index("ses_1") == 1
    assert layout.indices("storage").tolist() == [1] and layout.indices("pv").size == 0
    with pytest.raises(ValueError, match="no action entry 'pv_1'; entries: gt_1, ses_1"):
        layout.index("pv_1")
    with pytest.raises(ValueError, match=r"repeats entry names \['a'\]"):
        ActionLayout((ActionEntry("a", "storage", 2), ActionEntry("a", "storage", 3)))


def _draw_inside(rng, low, high):
    """A uniform float32 draw inside ``[low, high]`` (float32 round-off must not leave it)."""
    action = rng.uniform(low, high).astype(np.float32)
    action = np.clip(action, np.float32(low), np.float32(high))
    action = np.where(action < low, np.nextafter(action, np.float32(np.inf)), action)
    return np.where(action > high, np.nextafter(action, np.float32(-np.inf)), action)


def _meeting_coupled_limits(env, action):
    """``action`` made to meet the case's coupled limits beyond the box (the Stackelberg
    prices' average caps and sell ≤ buy; other cases have none) by the core's own projection,
    in float32 as an agent sends it: what the box of ``info`` cannot express."""
    core = env.unwrapped.core
    if type(core).project_coupled is DispatchCore.project_coupled:
        return action
    m = core.mask(core.layer)
    full = core.idle_action()
    full[m] = action[m]
    return np.where(m, core.project_coupled(full), action).astype(action.dtype)


def test_an_action_inside_the_infos_feasible_box_is_executed_unchanged(case):
    """``info["next_action_low"/"_high"]`` is the box the next step executes unchanged: a day
    of uniform draws inside it (reset info first, then each step's), made to meet the case's
    coupled limits, is never projected, and both keys are ``None`` after the day's last step."""
    env = case.make_env(day=case.days("val")[0], seed=0)
    rng = np.random.default_rng(0)
    _, info = env.reset(seed=0)
    done = False
    while not done:
        low, high = info["next_action_low"], info["next_action_high"]
        assert low.shape == high.shape == env.action_space.shape
        assert np.all(low <= high)
        action = _meeting_coupled_limits(env, _draw_inside(rng, low, high))
        _, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
        assert info["projection"]["n_clipped"] == 0, (info["layer"], info["step"])
    assert info["next_action_low"] is None and info["next_action_high"] is None


def test_an_action_inside_the_infos_penalty_free_box_is_neither_projected_nor_penalized(case):
    """``info["next_penalty_free_low"/"_high"]`` lies inside the feasible box, and a day of
    uniform draws inside it is never projected and never leaves the SOC window (the soft limit
    SES-carbon penalizes; a case without soft limits reports its feasible box again); all of
    the next step's boxes are ``None`` after the day's last step."""
    env = case.make_env(day=case.days("val")[0], seed=0)
    rng = np.random.default_rng(1)
    _, info = env.reset(seed=0)
    done = False
    while not done:
        low, high = info["next_penalty_free_low"], info["next_penalty_free_high"]
        assert np.all(info["next_action_low"] <= low) and np.all(low <= high)
        assert np.all(high <= info["next_action_high"])
        action = _meeting_coupled_limits(env, _draw_inside(rng, low, high))
        _, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
        assert info["projection"]["n_clipped"] == 0, (info["layer"], info["step"])
        assert info["soc_violation"] <= 1e-9, (info["layer"], info["step"])
    assert all(info[key] is None for key in NEXT_BOX_KEYS)


def test_every_step_reports_its_penalties_in_dollars(case):
    """``info["penalty_usd"]`` is finite and >= 0 on every step of a day of uniform draws in
    the action space, 0 on a step without violations, and where the reward is the scaled
    penalized cost (SES-carbon, loss-arbitrage) exactly what the reward charges beyond the
    scored cost: ``−reward·scale − Σ cost = penalty_usd``."""
    from gridbench.cases.reward import ScaledCostReward

    env = case.make_env(day=case.days("val")[0], seed=0)
    core = env.unwrapped.core
    scaled = getattr(core, "reward", None)
    rng = np.random.default_rng(2)
    env.reset(seed=0)
    done = False
    while not done:
        action = rng.uniform(env.action_space.low, env.action_space.high).astype(np.float32)
        _, reward, terminated, truncated, info = env.step(action)
        done = terminated or truncated
        penalty = info["penalty_usd"]
        assert np.isfinite(penalty) and penalty >= 0.0
        violated = info["voltage_violation_pu"] + info["line_overload"] + info["soc_violation"]
        if violated == 0.0:
            assert penalty == 0.0
        if isinstance(scaled, ScaledCostReward):
            cost = sum(info["cost"].values())
            assert -reward * scaled.scale_usd - cost == pytest.approx(penalty, abs=1e-6)
