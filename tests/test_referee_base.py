"""Tests of the referee base: projection, KPI schema, timeline, both front-ends, idle.

The physics here is a TEST-ONLY toy core (``_ToyCore``): storages on one bus behind a tie
line, with an analytic cost. It is not a case and is never registered.
"""

from __future__ import annotations

import datetime
import math
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env, data_equivalence
from pettingzoo.test import parallel_api_test

from gridbench.cases.contracts import Controller, Method
from gridbench.cases.kpi import (
    KPI_KEYS,
    NEXT_BOX_KEYS,
    REFEREE_INFO_KEYS,
    StepInfoError,
    StepKPI,
    validate_step_info,
)
from gridbench.cases.projection import (
    PROJECTION_KEYS,
    DiscPriority,
    ProjectionError,
    ProjectionReport,
    measure_projection,
    project_onto_box,
    project_onto_disc,
    storage_power_bounds,
)
from gridbench.cases.referee import (
    AgentRole,
    DayError,
    DispatchCore,
    Layer,
    LayerSpec,
    ParallelRefereeEnv,
    RefereeEnv,
    RefereeStateError,
    RoleError,
    StepOutcome,
    Timeline,
    TimelineError,
)
from gridbench.solvers.idle import Idle, IdleController

DAY = datetime.date(2016, 7, 1)
TRAIN_DAYS = (datetime.date(2016, 1, 5), datetime.date(2016, 4, 12), datetime.date(2016, 9, 30))

# Gymnasium recommends normalized Box actions; the referee's are in MW by design (RL methods
# wrap with RescaleAction), so this one warning is expected from check_env.
EXPECTED_WARNINGS = ("we recommend using a symmetric and normalized space",)


# ---------------------------------------------------------------------------- test-only core
class _ToyCore(DispatchCore):
    """TEST ONLY. ``n`` storages (2 MWh, 1 MW, η = 0.95, SOC band 0.1–0.9) on one bus with a
    load and PV; tie line ``g = load − pv − Σ p`` priced at ``π`` $/MWh, emissions 0.4 t/MWh of
    import. Two-layer variant: entry 0 is the day-ahead tie-line schedule (24 × 1 h, bought at
    ``π``), then 96 × 15 min intraday steps pay ``π·g·dt + 10·|g − ref|·dt``."""

    E, P, ETA, SOC_MIN, SOC_MAX = 2.0, 1.0, 0.95, 0.1, 0.9
    TIE_MAX = 5.0

    def __init__(self, n_storage: int = 2, two_layer: bool = False) -> None:
        self.n = n_storage
        self.two_layer = two_layer
        self.off = 1 if two_layer else 0
        timeline = Timeline.two_layer() if two_layer else Timeline.single(24, 1.0)
        super().__init__(timeline, action_dim=self.off + n_storage)

    # layout ------------------------------------------------------------------
    def active_mask(self, layer: Layer) -> np.ndarray:
        m = np.zeros(self.action_dim, dtype=bool)
        if layer is Layer.DAY_AHEAD:
            m[0] = True
        else:
            m[self.off :] = True
        return m

    def action_bounds(self, layer: Layer) -> tuple[np.ndarray, np.ndarray]:
        low = np.full(self.action_dim, -self.P)
        high = np.full(self.action_dim, self.P)
        if self.two_layer:
            low[0], high[0] = -self.TIE_MAX, self.TIE_MAX
        return low, high

    def step_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        low, high = self.action_bounds(self.layer)
        if self.layer is Layer.INTRADAY:
            lo, hi = storage_power_bounds(
                self.soc,
                self.E,
                self.P,
                self.layer_spec.step_hours,
                soc_min=self.SOC_MIN,
                soc_max=self.SOC_MAX,
                eta_charge=self.ETA,
                eta_discharge=self.ETA,
            )
            low[self.off :], high[self.off :] = lo, hi
        return low, high

    def observation_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        low = np.concatenate([np.zeros(self.n), [0.0, 0.0, 0.0, 0.0, -self.TIE_MAX]])
        high = np.concatenate([np.ones(self.n), [10.0, 10.0, 500.0, 1.0, self.TIE_MAX]])
        return low, high

    # data --------------------------------------------------------------------
    def load_day(self, day: datetime.date, rng: np.random.Generator) -> None:
        h = np.arange(96) / 4.0
        shift = (day.toordinal() % 7) / 7.0
        self.load = 3.0 + 1.0 * np.sin(2 * np.pi * (h - 8.0) / 24.0) + shift
        self.pv = np.clip(2.5 * np.sin(np.pi * (h - 6.0) / 12.0), 0.0, None)
        self.price = 60.0 + 30.0 * np.sin(2 * np.pi * (h - 12.0) / 24.0) + 10.0 * shift
        self.soc = 0.5 + rng.uniform(-0.1, 0.1, self.n)
        self.plan = np.zeros(24)
        self.on_layer_start_calls: list[Layer] = []

    def on_layer_start(self, layer: Layer) -> None:
        self.on_layer_start_calls.append(layer)
        if layer is Layer.INTRADAY and self.two_layer:
            self.plan = self.applied_setpoints(Layer.DAY_AHEAD)[:, 0].copy()

    def _now(self, series: np.ndarray) -> float:
        q0 = round(self.time_h * 4)
        n = round(self.layer_spec.step_hours * 4)
        return float(series[q0 : q0 + n].mean())

    def _ref(self) -> float:
        return float(self.plan[int(self.time_h)]) if self.two_layer else 0.0

    def observe(self) -> np.ndarray:
        return np.concatenate(
            [
                self.soc,
                [
                    self._now(self.load),
                    self._now(self.pv),
                    self._now(self.price),
                    self.time_h / 24.0,
                    self._ref(),
                ],
            ]
        )

    # physics -----------------------------------------------------------------
    def simulate(self, setpoints: np.ndarray) -> StepOutcome:
        dt = self.layer_spec.step_hours
        price = self._now(self.price)
        if self.layer is Layer.DAY_AHEAD:
            plan = float(setpoints[0])
            kpi = StepKPI(
                cost={"day_ahead_energy": price * plan * dt},
                soc=self.soc,
                tie_line_mw=plan,
                tie_line_ref_mw=plan,
            )
            return StepOutcome(kpi=kpi, reward=-kpi.total_cost)
        p = setpoints[self.off :]
        dis, ch = np.maximum(p, 0.0), np.minimum(p, 0.0)
        self.soc = self.soc - dt * (dis / self.ETA + self.ETA * ch) / self.E
        tie = self._now(self.load) - self._now(self.pv) - float(p.sum())
        ref = self._ref()
        cost = {"energy": price * tie * dt}
        if self.two_layer:
            cost["imbalance"] = 10.0 * abs(tie - ref) * dt
        over = np.maximum(self.soc - self.SOC_MAX, 0) + np.maximum(self.SOC_MIN - self.soc, 0)
        kpi = StepKPI(
            cost=cost,
            emissions_t=0.4 * max(tie, 0.0) * dt,
            soc=np.clip(self.soc, 0.0, 1.0),
            tie_line_mw=tie,
            tie_line_ref_mw=ref,
            soc_violation=float(over.sum()),
        )
        agent_rewards = {
            f"s{i}": float(price * p[i] * dt) for i in range(self.n)
        }  # each storage's arbitrage revenue
        if self.two_layer:
            agent_rewards["s0"] -= cost["imbalance"]
        return StepOutcome(
            kpi=kpi,
            reward=-kpi.total_cost,
            reward_terms={"cost": -kpi.total_cost},
            agent_rewards=agent_rewards,
        )

    def agent_roles(self) -> tuple[AgentRole, ...]:
        first = (0, 1) if self.two_layer else (0,)
        roles = [AgentRole("s0", first, stage=0)]
        roles += [AgentRole(f"s{i}", (self.off + i,), stage=1) for i in range(1, self.n)]
        return tuple(roles)


def _sampler(rng: np.random.Generator) -> datetime.date:
    return TRAIN_DAYS[int(rng.integers(len(TRAIN_DAYS)))]


def _env(two_layer: bool = False, **kw: object) -> RefereeEnv:
    return RefereeEnv(_ToyCore(two_layer=two_layer), day_sampler=_sampler, **kw)


def _rollout(env: RefereeEnv, seed: int, actions_seed: int = 7) -> list[tuple]:
    obs, info = env.reset(seed=seed)
    env.action_space.seed(actions_seed)
    out = [(obs, info)]
    done = False
    while not done:
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        out.append((obs, r, term, trunc, info))
        done = term or trunc
    return out


# ---------------------------------------------------------------------------- projection
class TestProjection:
    def test_in_box_untouched(self) -> None:
        x, rep = project_onto_box([0.2, -0.5], -1.0, 1.0)
        np.testing.assert_array_equal(x, [0.2, -0.5])
        assert rep == ProjectionReport(0, 0, 0.0) and not rep.changed

    def test_nan_goes_to_clipped_fallback(self) -> None:
        x, rep = project_onto_box([np.nan, np.nan], [-1.0, 0.5], [1.0, 2.0])
        np.testing.assert_array_equal(x, [0.0, 0.5])  # 0, and 0 clipped to P_min = 0.5
        assert (rep.n_nonfinite, rep.n_clipped, rep.distance) == (2, 0, 0.0)
        x, _ = project_onto_box([np.nan], -1.0, 1.0, fallback=0.3)
        assert x[0] == 0.3

    def test_infinities_go_to_bounds(self) -> None:
        x, rep = project_onto_box([np.inf, -np.inf, 0.0], [-1, -2, -3], [1, 2, 3])
        np.testing.assert_array_equal(x, [1.0, -2.0, 0.0])
        assert rep.n_nonfinite == 2 and rep.n_clipped == 0

    def test_huge_values_clip_and_measure(self) -> None:
        x, rep = project_onto_box([1e300, -3.0, 0.5], -1.0, 1.0)
        np.testing.assert_array_equal(x, [1.0, -1.0, 0.5])
        assert rep.n_clipped == 2
        assert rep.distance == pytest.approx(math.hypot(1e300, 2.0))

    def test_tolerance_absorbs_float32_roundoff(self) -> None:
        _, rep = project_onto_box([1.0 + 1e-8], 0.0, 1.0)
        assert rep.n_clipped == 0

    def test_shapes(self) -> None:
        x, _ = project_onto_box([[0.1, 0.2]], np.zeros(2), np.ones(2))  # SB3 batch of one
        assert x.shape == (2,)
        x, _ = project_onto_box(5.0, [0.0], [1.0])
        assert x.shape == (1,) and x[0] == 1.0
        with pytest.raises(ProjectionError, match="3 entries"):
            project_onto_box([1, 2, 3], np.zeros(2), np.ones(2))
        with pytest.raises(ProjectionError, match="numeric"):
            project_onto_box(["a", "b"], np.zeros(2), np.ones(2))
        with pytest.raises(ProjectionError, match="empty box at entry 1"):
            project_onto_box([0, 0], [0, 2], [1, 1])

    def test_state_dependent_storage_bounds(self) -> None:
        # E = 2 MWh, P = 1 MW, dt = 1 h, eta = 0.9, band 0.1–0.9
        kw = dict(soc_min=0.1, soc_max=0.9, eta_charge=0.9, eta_discharge=0.9)
        low, high = storage_power_bounds([0.5, 0.15, 0.9, 0.05], 2.0, 1.0, 1.0, **kw)
        # high = min(P, (SOC − 0.1)·E·η/dt), low = −min(P, (0.9 − SOC)·E/(η·dt))
        np.testing.assert_allclose(high, [0.4 * 2 * 0.9, 0.05 * 2 * 0.9, 1.0, 0.0])
        np.testing.assert_allclose(low, [-0.4 * 2 / 0.9, -1.0, 0.0, -1.0])
        # the projected action keeps the SOC in its band
        soc = 0.15
        lo, hi = storage_power_bounds(soc, 2.0, 1.0, 1.0, **kw)
        x, rep = project_onto_box([1.0], lo, hi)
        assert soc - x[0] / 0.9 / 2.0 == pytest.approx(0.1) and rep.n_clipped == 1
        with pytest.raises(ProjectionError, match="dt_h"):
            storage_power_bounds(0.5, 2.0, 1.0, 0.0)

    def test_disc(self) -> None:
        p, q, rep = project_onto_disc([3.0, 0.3], [4.0, 0.4], 1.0)
        np.testing.assert_allclose(p, [0.6, 0.3])
        np.testing.assert_allclose(q, [0.8, 0.4])
        assert rep.n_clipped == 1 and rep.distance == pytest.approx(4.0)
        p, q, _ = project_onto_disc(0.8, 0.9, 1.0, priority=DiscPriority.P)
        assert (float(p), float(q)) == pytest.approx((0.8, 0.6))
        p, q, _ = project_onto_disc(0.9, -0.8, 1.0, priority="q")
        assert (float(p), float(q)) == pytest.approx((0.6, -0.8))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            p, q, rep = project_onto_disc([np.nan, np.inf], [0.5, 0.0], 1.0)
        np.testing.assert_allclose(p, [0.0, 1.0])
        assert rep.n_nonfinite == 2
        assert np.all(np.hypot(p, q) <= 1.0 + 1e-12)
        with pytest.raises(ProjectionError, match="priority"):
            project_onto_disc(0, 0, 1, priority="s")

    def test_measure_and_report(self) -> None:
        rep = measure_projection([np.nan, 2.0, 5.0], [0.0, 1.0, 5.0], mask=[True, True, False])
        assert rep.to_info() == {"n_clipped": 1, "n_nonfinite": 1, "distance": 1.0}
        assert tuple(rep.to_info()) == PROJECTION_KEYS
        both = ProjectionReport(1, 0, 3.0).combine(ProjectionReport(1, 1, 4.0))
        assert both == ProjectionReport(2, 1, 5.0)


# ---------------------------------------------------------------------------- KPI schema
class TestKPI:
    def test_defaults_and_to_info(self) -> None:
        kpi = StepKPI()
        info = kpi.to_info()
        assert tuple(info) == KPI_KEYS
        assert info["cost"] == {} and info["soc"].shape == (0,)
        assert info["v_min_pu"] == info["v_max_pu"] == 1.0 and info["emissions_t"] == 0.0
        validate_step_info(info, referee=False)
        again = kpi.to_info()
        assert again["cost"] is not info["cost"] and again["soc"] is not info["soc"]

    def test_normalization_and_rejections(self) -> None:
        kpi = StepKPI(cost={"energy": np.float32(2.5)}, soc=[0.5, 0.6], tie_line_mw=np.int64(3))
        assert kpi.total_cost == 2.5 and isinstance(kpi.tie_line_mw, float)
        with pytest.raises(TypeError):
            kpi.cost["x"] = 1.0  # type: ignore[index]
        with pytest.raises(StepInfoError, match="emissions_t must be finite"):
            StepKPI(emissions_t=float("nan"))
        with pytest.raises(StepInfoError, match="soc_violation is a magnitude"):
            StepKPI(soc_violation=-1.0)
        with pytest.raises(StepInfoError, match="cost must be a mapping"):
            StepKPI(cost=[1.0])  # type: ignore[arg-type]

    def test_validate_names_every_problem(self) -> None:
        info = StepKPI(soc=[0.5]).to_info()
        del info["soc"], info["v_min_pu"]
        info["cost"] = [1.0]
        info["line_overload"] = -0.1
        with pytest.raises(StepInfoError) as exc:
            validate_step_info(info, referee=False)
        msg = str(exc.value)
        assert "\n" not in msg
        assert "missing soc, v_min_pu" in msg
        assert "ill-typed cost (expected a mapping" in msg and "line_overload" in msg
        with pytest.raises(StepInfoError, match="missing projection, layer, step"):
            validate_step_info(StepKPI().to_info())
        with pytest.raises(StepInfoError, match="within 0-1"):
            validate_step_info(StepKPI(soc=[1.5]).to_info(), referee=False)


# ---------------------------------------------------------------------------- timeline
class TestTimeline:
    def test_positions(self) -> None:
        tl = Timeline.two_layer((24, 1.0), (96, 0.25))
        assert tl.total_steps == 120 and tl.executed.layer is Layer.INTRADAY
        assert tl.position(0) == (tl.layers[0], 0)
        assert tl.position(24) == (tl.layers[1], 0)
        assert tl.position(500) == (tl.layers[1], 95)
        assert tl.spec("day_ahead").step_at(tl.layers[1].time_h(95)) == 23
        one_step_plan = Timeline(
            (LayerSpec(Layer.DAY_AHEAD, 1, 24.0), LayerSpec("intraday", 96, 0.25))
        )
        assert one_step_plan.total_steps == 97

    def test_invalid(self) -> None:
        with pytest.raises(TimelineError, match="out of order"):
            Timeline((LayerSpec(Layer.INTRADAY, 24, 1.0), LayerSpec(Layer.DAY_AHEAD, 24, 1.0)))
        with pytest.raises(TimelineError, match="all layers must cover the day"):
            Timeline.two_layer((24, 1.0), (48, 0.25))
        with pytest.raises(TimelineError, match="n_steps"):
            LayerSpec(Layer.INTRADAY, 0, 1.0)
        with pytest.raises(TimelineError, match="unknown layer 'weekly'"):
            LayerSpec("weekly", 1, 1.0)  # type: ignore[arg-type]
        with pytest.raises(TimelineError, match="at least one"):
            Timeline(())


# ---------------------------------------------------------------------------- single-agent env
@pytest.mark.parametrize("two_layer", [False, True], ids=["single-layer", "two-layer"])
def test_check_env_no_unexpected_warnings(two_layer: bool) -> None:
    env = _env(two_layer)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env, skip_render_check=True)
    unexpected = [
        str(w.message) for w in caught if not any(e in str(w.message) for e in EXPECTED_WARNINGS)
    ]
    assert unexpected == []


@pytest.mark.parametrize("two_layer", [False, True], ids=["single-layer", "two-layer"])
def test_every_step_info_follows_schema(two_layer: bool) -> None:
    env = _env(two_layer)
    traj = _rollout(env, seed=3)
    obs0, info0 = traj[0]
    assert obs0 in env.observation_space
    assert {"layer", "step", "time_h", "step_hours", "day", "idle_action"} <= set(info0)
    for obs, reward, _term, trunc, info in traj[1:]:
        validate_step_info(info)
        assert obs in env.observation_space
        assert isinstance(reward, float) and trunc is False
        assert reward == pytest.approx(-sum(info["cost"].values()))
    assert traj[-1][2] is True and not any(t[2] for t in traj[1:-1])
    assert len(traj) - 1 == env.timeline.total_steps


def test_nonfinite_and_huge_actions_never_crash() -> None:
    env = _env()
    env.reset(seed=0, options={"day": DAY})
    for action in ([np.nan, np.inf], [-np.inf, 1e300], [[np.nan, -1e9]], np.float32([5, -5])):
        _, reward, _, _, info = env.step(np.asarray(action, dtype=np.float64))
        assert math.isfinite(reward)
        validate_step_info(info)
        assert info["projection"]["n_nonfinite"] + info["projection"]["n_clipped"] == 2
    _, _, _, _, info = env.step(env.idle_action())
    assert info["projection"] == {"n_clipped": 0, "n_nonfinite": 0, "distance": 0.0}
    with pytest.raises(ProjectionError, match="3 entries"):
        env.step(np.zeros(3))


def test_soc_limits_hold_under_any_action() -> None:
    env = _env()
    env.reset(seed=1, options={"day": DAY})
    done = False
    while not done:
        _, _, done, _, info = env.step(np.array([1.0, -1.0]))  # discharge one, charge other
        assert info["soc_violation"] == pytest.approx(0.0, abs=1e-12)
    assert info["soc"][0] == pytest.approx(_ToyCore.SOC_MIN)
    assert info["soc"][1] == pytest.approx(_ToyCore.SOC_MAX)
    assert info["projection"]["n_clipped"] == 2


def test_determinism_same_seed_same_trajectory() -> None:
    a = _rollout(_env(True), seed=42)
    b = _rollout(_env(True), seed=42)
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert data_equivalence(x, y, exact=True)
    c = _rollout(_env(True), seed=43)
    assert not data_equivalence(a[0], c[0], exact=True)  # initial SOC / day differ


def test_days_and_seeds() -> None:
    env = _env()
    _, info = env.reset(seed=0, options={"day": "2016-07-01"})
    assert info["day"] == "2016-07-01"
    _, info = env.reset(options={"day": DAY, "unrelated": 1})
    assert info["day"] == DAY.isoformat()
    _, info = env.reset()
    assert datetime.date.fromisoformat(info["day"]) in TRAIN_DAYS
    with pytest.raises(DayError, match="ISO date"):
        env.reset(options={"day": "July 1st"})
    fixed = RefereeEnv(_ToyCore(), day=DAY, seed=5)
    obs1, info1 = fixed.reset()
    obs2, _ = RefereeEnv(_ToyCore(), day=DAY).reset(seed=5)
    assert info1["day"] == DAY.isoformat() and np.array_equal(obs1, obs2)
    with pytest.raises(DayError, match="no day given"):
        RefereeEnv(_ToyCore()).reset()


def test_core_misuse_is_reported() -> None:
    core = _ToyCore(two_layer=True)
    with pytest.raises(RefereeStateError, match="reset"):
        core.step(np.zeros(3))
    core.reset(DAY, np.random.default_rng(0))
    with pytest.raises(RefereeStateError, match="core is in day_ahead"):
        core.step(np.zeros(3), layer=Layer.INTRADAY)
    for _ in range(core.timeline.total_steps):
        core.step(np.zeros(3))
    with pytest.raises(RefereeStateError, match="is over"):
        core.step(np.zeros(3))


def test_two_layer_timeline_and_reference() -> None:
    env = _env(two_layer=True)
    obs, info = env.reset(seed=0, options={"day": DAY})
    assert env.action_space.shape == (3,)
    np.testing.assert_array_equal(env.action_space.low, [-5.0, -1.0, -1.0])
    assert info["layer"] == "day_ahead" and obs[-2:].tolist() == [1.0, 0.0]
    plan = np.linspace(-2.0, 3.0, 24)
    layers, steps, times = [], [], []
    for h in range(24):
        # intraday entries are inactive in the day-ahead layer: NaN there is ignored
        obs, _, done, _, info = env.step(np.array([plan[h], np.nan, np.nan]))
        layers.append(info["layer"]), steps.append(info["step"]), times.append(info["time_h"])
        assert info["projection"]["n_nonfinite"] == 0
        assert info["tie_line_mw"] == pytest.approx(plan[h])
    assert obs[-2:].tolist() == [0.0, 1.0]  # next decision is intraday
    core = env.core
    assert core.on_layer_start_calls == [Layer.DAY_AHEAD, Layer.INTRADAY]
    refs = []
    while not done:
        obs, _, done, _, info = env.step(np.array([99.0, 0.01, -0.01]))  # entry 0 now inactive
        layers.append(info["layer"]), steps.append(info["step"]), times.append(info["time_h"])
        refs.append(info["tie_line_ref_mw"])
        assert info["step_hours"] == 0.25 and info["projection"]["n_clipped"] == 0
        assert "imbalance" in info["cost"]
    assert layers == ["day_ahead"] * 24 + ["intraday"] * 96
    assert steps == list(range(24)) + list(range(96))
    assert times[:24] == [float(h) for h in range(24)]
    assert times[24:] == [k * 0.25 for k in range(96)]
    np.testing.assert_allclose(refs, np.repeat(plan, 4))  # intraday reference = day-ahead plan
    assert core.applied_setpoints(Layer.INTRADAY)[:, 0].tolist() == [0.0] * 96


@pytest.mark.parametrize("two_layer", [False, True], ids=["single-layer", "two-layer"])
def test_info_names_the_next_step(two_layer: bool) -> None:
    """``next_layer``/``next_step`` say where the next action will be applied: the day's first
    step after reset, the step after each step (the next layer's first after a layer's last),
    ``None`` after the day's last step; stages before the last name the same step."""
    from toy_case import ToyCore  # tests/toy_case.py: 24 × 1 h, after 1 × 24 h when two-layer

    env = RefereeEnv(ToyCore(4.0, two_layer), day=DAY)
    _, info = env.reset(seed=0)
    nexts = [(info["next_layer"], info["next_step"])]
    assert nexts[0] == (info["layer"], info["step"])
    done = False
    while not done:
        _, _, done, _, info = env.step(env.idle_action())
        assert (info["layer"], info["step"]) == nexts[-1]  # applied where announced
        nexts.append((info["next_layer"], info["next_step"]))
    first = [("day_ahead", 0)] if two_layer else []
    assert nexts == first + [("intraday", k) for k in range(24)] + [(None, None)]

    multi = ParallelRefereeEnv(
        _ToyCore(n_storage=2, two_layer=two_layer), sequential_stages=True, day=DAY
    )
    _, infos = multi.reset(seed=0)
    first_layer = "day_ahead" if two_layer else "intraday"
    assert {(i["next_layer"], i["next_step"]) for i in infos.values()} == {(first_layer, 0)}
    idle = {name: np.zeros(multi.action_space(name).shape) for name in multi.agents}
    _, _, _, _, infos = multi.step(idle)  # stage 0: the leader; the follower acts at step 0
    assert {(i["next_layer"], i["next_step"], i["kpi"]) for i in infos.values()} == {
        (first_layer, 0, False)
    }
    _, _, _, _, infos = multi.step(idle)  # stage 1 executes step 0
    assert {(i["next_layer"], i["next_step"], i["kpi"]) for i in infos.values()} == {
        (first_layer, 1, True)
    }


# ---------------------------------------------------------------------------- parallel env
@pytest.mark.parametrize("sequential", [False, True], ids=["simultaneous", "stackelberg"])
@pytest.mark.parametrize("two_layer", [False, True], ids=["single-layer", "two-layer"])
def test_parallel_api(sequential: bool, two_layer: bool) -> None:
    env = ParallelRefereeEnv(
        _ToyCore(n_storage=3, two_layer=two_layer),
        sequential_stages=sequential,
        day_sampler=_sampler,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parallel_api_test(env, num_cycles=400)


def _joint_actions(core: _ToyCore, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1.5, 1.5, size=(n, core.action_dim))  # many outside the limits
    a[::7, -1] = np.nan
    return a


@pytest.mark.parametrize("sequential", [False, True], ids=["simultaneous", "stackelberg"])
def test_parallel_kpis_equal_single_agent(sequential: bool) -> None:
    single = RefereeEnv(_ToyCore(n_storage=3, two_layer=True), day=DAY)
    multi = ParallelRefereeEnv(
        _ToyCore(n_storage=3, two_layer=True), sequential_stages=sequential, day=DAY
    )
    actions = _joint_actions(single.core, single.core.timeline.total_steps, seed=1)
    single.reset(seed=9)
    _, infos = multi.reset(seed=9)
    assert {n: i["idle_action"].tolist() for n, i in infos.items()} == {
        "s0": [0.0, 0.0],
        "s1": [0.0],
        "s2": [0.0],
    }
    n_stages = 2 if sequential else 1
    for joint in actions:
        _, reward, done, _, info = single.step(joint)
        for stage in range(n_stages):
            acts = {
                name: joint[multi.agent_indices(name)]
                for name in multi.agents
                if not sequential or (name == "s0") == (stage == 0)
            }
            obs, rewards, terms, _, infos = multi.step(acts)
            if stage < n_stages - 1:
                assert all(i["kpi"] is False for i in infos.values())
                assert set(rewards.values()) == {0.0}
                # the followers see the leader's projected decision before acting
                lead = multi.core.preview(joint, multi.agent_indices("s0"))
                for follower in ("s1", "s2"):
                    np.testing.assert_allclose(obs[follower][-6:-4], lead.astype(np.float32))
        for name, minfo in infos.items():
            assert minfo["kpi"] is True
            validate_step_info(minfo)
            # an agent's box is its own slice of the joint one
            own = multi.agent_indices(name)
            expected = {k: info[k] for k in (*KPI_KEYS, *REFEREE_INFO_KEYS)}
            for key in NEXT_BOX_KEYS:
                expected[key] = None if info[key] is None else info[key][own]
            assert data_equivalence(
                {k: minfo[k] for k in (*KPI_KEYS, *REFEREE_INFO_KEYS)}, expected, exact=True
            ), name
        if info["layer"] == "intraday":
            assert sum(rewards.values()) != reward  # per-agent rewards come from the core
        assert all(v is done for v in terms.values())
    assert done and multi.agents == []
    with pytest.raises(RefereeStateError):
        multi.step({})


def test_parallel_roles_validation() -> None:
    core = _ToyCore(n_storage=2)
    with pytest.raises(RoleError, match="both control setpoint 1"):
        ParallelRefereeEnv(core, roles=[AgentRole("a", slice(0, 2)), AgentRole("b", (1,))])
    with pytest.raises(RoleError, match="belong to no agent"):
        ParallelRefereeEnv(core, roles=[AgentRole("a", (0,))])
    with pytest.raises(RoleError, match="declared twice"):
        ParallelRefereeEnv(core, roles=[AgentRole("a", (0,)), AgentRole("a", (1,))])
    with pytest.raises(RoleError, match="controls no setpoint"):
        ParallelRefereeEnv(core, roles=[AgentRole("a", slice(0, 2)), AgentRole("b", slice(5, 6))])
    env = ParallelRefereeEnv(core, roles=[AgentRole("all", slice(None))], day=DAY)
    env.reset(seed=0)
    with pytest.raises(RoleError, match="unknown agents"):
        env.step({"all": np.zeros(2), "ghost": np.zeros(1)})
    with pytest.raises(RoleError, match="no action for agent 'all'"):
        env.step({})


# ---------------------------------------------------------------------------- idle baseline
def test_idle_plays_zero_on_both_front_ends() -> None:
    method = Idle()
    assert isinstance(method, Method) and method.supports(object())  # type: ignore[arg-type]
    ctrl = method.controller(object(), DAY)  # type: ignore[arg-type]
    assert isinstance(ctrl, Controller) and isinstance(ctrl, IdleController)

    env = _env(two_layer=True)
    obs, info = env.reset(seed=0, options={"day": DAY})
    ctrl.reset(obs, info)
    done = False
    while not done:
        obs, _, done, _, info = env.step(ctrl.act(obs, info))
        assert info["projection"] == {"n_clipped": 0, "n_nonfinite": 0, "distance": 0.0}
    assert env.core.applied_setpoints(Layer.INTRADAY).sum() == 0.0

    penv = ParallelRefereeEnv(_ToyCore(n_storage=3), day=DAY)
    obs, infos = penv.reset(seed=0)
    ctrl = method.controller(object(), DAY)  # type: ignore[arg-type]
    ctrl.reset(obs, infos)
    while penv.agents:
        obs, _, _, _, infos = penv.step(ctrl.act(obs, infos))
    assert penv.core.applied_setpoints(Layer.INTRADAY).sum() == 0.0


def test_idle_action_is_zero_projected() -> None:
    class MustRun(_ToyCore):
        def action_bounds(self, layer: Layer) -> tuple[np.ndarray, np.ndarray]:
            return np.array([0.2, -1.0]), np.array([1.0, 1.0])

    env = RefereeEnv(MustRun(), day=DAY)
    np.testing.assert_array_equal(env.idle_action(), np.float32([0.2, 0.0]))
    _, info = env.reset(seed=0)
    np.testing.assert_array_equal(info["idle_action"], [0.2, 0.0])
    assert isinstance(env, gymnasium.Env)
