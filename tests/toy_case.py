"""TEST ONLY: a toy storage case and toy methods for the harness tests. Never registered
outside a test: :func:`registered` fills *sandboxed* registries with them.

Physics (exact by hand): one storage, E = 4 MWh, P = 2 MW, η = 1, SOC band 0.1–0.9, SOC(0) =
0.5, behind a tie line feeding a constant load ``L`` (1.0 MW on even date ordinals, 1.5 MW on
odd ones). Tie line ``g = L − p`` (``p > 0`` discharges), price 50 $/MWh in hours 0–11 and 100
$/MWh in hours 12–23, emissions 0.5 t/MWh of import, voltage ``v = 1 − 0.02·g`` with a band of
0.95–1.05 pu (so importing more than 2.5 MW violates it). ``idle`` therefore costs
``1800·L`` $ and emits ``12·L`` t a day.

Two-layer variant (``toy-storage-2l-v0``): one day-ahead step commits a flat tie-line
schedule ``s`` (entry 0, bought at 75 $/MWh: cost ``1800·s``), then 24 hourly intraday steps
(entry 1 = the storage) pay the deviation ``price·(g − s)`` and report ``tie_line_ref_mw = s``.

The toy methods live here (importable by spawned workers as ``toy_case:Class``).
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np

from gridbench.cases.contracts import BaseCase, Budget, Case, CaseConfig, MethodFamily, Split
from gridbench.cases.kpi import StepKPI
from gridbench.cases.projection import storage_power_bounds
from gridbench.cases.referee import DispatchCore, Layer, StepOutcome, Timeline

CASE_ID = "toy-storage-v0"
CASE_2L_ID = "toy-storage-2l-v0"

DAYS: dict[Split, tuple[datetime.date, ...]] = {
    Split.TEST: tuple(datetime.date(2016, 7, d) for d in (1, 2, 3, 4)),
    Split.VAL: (datetime.date(2016, 6, 1), datetime.date(2016, 6, 2)),
    Split.TRAIN: tuple(datetime.date(2016, 1, d) for d in (5, 6, 7)),
}


def load_mw(day: datetime.date) -> float:
    """The toy's constant load of ``day``."""
    return 1.0 if day.toordinal() % 2 == 0 else 1.5


class ToyConfig(CaseConfig):
    capacity_mwh: float = 4.0


class ToyCore(DispatchCore):
    """TEST ONLY physics (see the module docstring)."""

    P, SOC_MIN, SOC_MAX, SOC0, PLAN_MAX = 2.0, 0.1, 0.9, 0.5, 5.0

    def __init__(self, capacity_mwh: float, two_layer: bool) -> None:
        self.E = capacity_mwh
        self.two_layer = two_layer
        self.off = 1 if two_layer else 0
        timeline = (
            Timeline.two_layer(day_ahead=(1, 24.0), intraday=(24, 1.0))
            if two_layer
            else Timeline.single(24, 1.0)
        )
        super().__init__(timeline, action_dim=self.off + 1)

    def active_mask(self, layer: Layer) -> np.ndarray:
        m = np.zeros(self.action_dim, dtype=bool)
        if layer is Layer.DAY_AHEAD:
            m[0] = True
        else:
            m[self.off] = True
        return m

    def action_bounds(self, layer: Layer) -> tuple[np.ndarray, np.ndarray]:
        low, high = np.full(self.action_dim, -self.P), np.full(self.action_dim, self.P)
        if self.two_layer:
            low[0], high[0] = -self.PLAN_MAX, self.PLAN_MAX
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
            )
            low[self.off :], high[self.off :] = lo, hi
        return low, high

    def observation_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.array([0.0, 0.0, 0.0, 0.0, -self.PLAN_MAX]),
            np.array([1.0, 5.0, 200.0, 1.0, self.PLAN_MAX]),
        )

    def load_day(self, day: datetime.date, rng: np.random.Generator) -> None:
        self.load = load_mw(day)
        self.soc = np.array([self.SOC0])
        self.plan = 0.0

    def reset_info(self) -> dict[str, Any]:
        info = super().reset_info()
        info["soc"] = self.soc.copy()  # SOC(0) for the harness's SOC metrics
        return info

    def on_layer_start(self, layer: Layer) -> None:
        if layer is Layer.INTRADAY and self.two_layer:
            self.plan = float(self.applied_setpoints(Layer.DAY_AHEAD)[0, 0])

    def _price(self) -> float:
        return 50.0 if self.time_h < 12.0 else 100.0

    def observe(self) -> np.ndarray:
        return np.array(
            [self.soc[0], self.load, self._price(), self.time_h / 24.0, self.plan], dtype=float
        )

    def simulate(self, setpoints: np.ndarray) -> StepOutcome:
        dt = self.layer_spec.step_hours
        if self.layer is Layer.DAY_AHEAD:
            plan = float(setpoints[0])
            kpi = StepKPI(
                cost={"day_ahead": 75.0 * plan * dt},
                soc=self.soc,
                tie_line_mw=plan,
                tie_line_ref_mw=plan,
            )
            return StepOutcome(kpi=kpi, reward=-kpi.total_cost)
        p = float(setpoints[self.off])
        self.soc = np.clip(self.soc - dt * p / self.E, 0.0, 1.0)
        tie = self.load - p
        v = 1.0 - 0.02 * tie
        price = self._price()
        if self.two_layer:
            cost = {"deviation": price * (tie - self.plan) * dt}
        else:
            cost = {"energy": price * tie * dt}
        kpi = StepKPI(
            cost=cost,
            emissions_t=0.5 * max(tie, 0.0) * dt,
            soc=self.soc,
            tie_line_mw=tie,
            tie_line_ref_mw=self.plan,
            v_min_pu=v,
            v_max_pu=v,
            voltage_violation_pu=max(0.95 - v, 0.0) + max(v - 1.05, 0.0),
        )
        return StepOutcome(kpi=kpi, reward=-kpi.total_cost)


class ToyCase(BaseCase):
    """TEST ONLY single-layer toy case."""

    id = CASE_ID
    grid = "toy"
    paper = "test only"
    timeline = Timeline.single(24, 1.0)
    config_model = ToyConfig
    two_layer = False

    def days(self, split: Split | str) -> tuple[datetime.date, ...]:
        return DAYS[Split.parse(split)]

    def make_core(self) -> ToyCore:
        return ToyCore(self.config.capacity_mwh, self.two_layer)  # type: ignore[attr-defined]


class ToyTwoLayerCase(ToyCase):
    """TEST ONLY two-layer toy case."""

    id = CASE_2L_ID
    timeline = Timeline.two_layer(day_ahead=(1, 24.0), intraday=(24, 1.0))
    two_layer = True


# --------------------------------------------------------------------------- toy methods
class ScheduleController:
    """Plays ``schedule[hour]`` MW on the storage (0 elsewhere); in the two-layer case the
    day-ahead step commits a flat schedule of ``plan`` MW."""

    def __init__(self, case: Case, schedule: Mapping[int, float], plan: float = 0.0) -> None:
        self.two_layer = bool(getattr(case, "two_layer", False))
        self.schedule = dict(schedule)
        self.plan = plan
        self.k = 0

    def reset(self, obs: Any, info: Mapping[str, Any]) -> None:
        self.k = 0

    def act(self, obs: Any, info: Mapping[str, Any]) -> np.ndarray:
        if self.two_layer:
            if self.k == 0:
                self.k += 1
                return np.array([self.plan, 0.0], dtype=np.float32)
            hour = self.k - 1
            self.k += 1
            return np.array([0.0, self.schedule.get(hour, 0.0)], dtype=np.float32)
        hour = self.k
        self.k += 1
        return np.array([self.schedule.get(hour, 0.0)], dtype=np.float32)


class _ToyMethod:
    name: ClassVar[str]
    family: ClassVar[MethodFamily] = MethodFamily.BASELINE

    def supports(self, case: Case) -> bool:
        return True

    def fit(self, case: Case, seed: int, budget: Budget) -> None:
        return None


class ToyOracle(_ToyMethod):
    """Perfect-foresight-like bound: charge 0.8 MW in hours 0–1 (SOC 0.5 → 0.9), discharge
    1.6 MW in hours 12–13 (SOC 0.9 → 0.1): cost ``1800·L − 240`` $."""

    name = "oracle"
    family = MethodFamily.BOUND

    def controller(self, case: Case, day: datetime.date) -> ScheduleController:
        return ScheduleController(case, {0: -0.8, 1: -0.8, 12: 1.6, 13: 1.6})


class ToyDump(_ToyMethod):
    """Cheaper than idle but infeasible: asks for 2 MW of charge in hour 0 (projected to 1.6 MW
    by the SOC band; tie ``L + 1.6`` > 2.5 MW: a voltage violation of ``0.02·(L + 1.6) − 0.05``
    pu for 1 h), discharges 2 MW in hour 12."""

    name = "dump"

    def controller(self, case: Case, day: datetime.date) -> ScheduleController:
        return ScheduleController(case, {0: -2.0, 12: 2.0})


class NoisyController:
    def __init__(self, rng: np.random.Generator, two_layer: bool) -> None:
        self.rng, self.two_layer = rng, two_layer

    def reset(self, obs: Any, info: Mapping[str, Any]) -> None:
        return None

    def act(self, obs: Any, info: Mapping[str, Any]) -> np.ndarray:
        return self.rng.uniform(-2.0, 2.0, size=2 if self.two_layer else 1).astype(np.float32)


class ToyNoisy(_ToyMethod):
    """Random actions drawn from ``(seed, day)``: deterministic per seed, different across."""

    name = "noisy"
    family = MethodFamily.RL

    def __init__(self) -> None:
        self.seed = 0

    def fit(self, case: Case, seed: int, budget: Budget) -> None:
        self.seed = seed

    def controller(self, case: Case, day: datetime.date) -> NoisyController:
        rng = np.random.default_rng([self.seed, day.toordinal()])
        return NoisyController(rng, bool(getattr(case, "two_layer", False)))


class CrashController(ScheduleController):
    def act(self, obs: Any, info: Mapping[str, Any]) -> np.ndarray:
        if self.k == 3:
            raise RuntimeError("boom at step 3")
        return super().act(obs, info)


class ToyCrash(_ToyMethod):
    """Its controller raises on the 4th step of every day."""

    name = "crashy"
    family = MethodFamily.SOLVER

    def controller(self, case: Case, day: datetime.date) -> CrashController:
        return CrashController(case, {})


class TimeoutController(ScheduleController):
    def act(self, obs: Any, info: Mapping[str, Any]) -> np.ndarray:
        raise TimeoutError("solver time limit of 1 s reached")


class ToyTimeout(_ToyMethod):
    name = "slowpoke"
    family = MethodFamily.SOLVER

    def controller(self, case: Case, day: datetime.date) -> TimeoutController:
        return TimeoutController(case, {})


class ToyKiller(_ToyMethod):
    """Its ``fit`` kills the process it runs in (``os._exit(7)``): only run it in a worker."""

    name = "killer"

    def fit(self, case: Case, seed: int, budget: Budget) -> None:
        os._exit(7)

    def controller(self, case: Case, day: datetime.date) -> ScheduleController:
        return ScheduleController(case, {})


class ToySleeper(_ToyMethod):
    """Its ``fit`` writes the worker's pid to ``$GRIDBENCH_TEST_PID_DIR`` and sleeps a
    minute: a unit still running when the driver is terminated."""

    name = "sleeper"

    def fit(self, case: Case, seed: int, budget: Budget) -> None:
        import time
        from pathlib import Path

        Path(os.environ["GRIDBENCH_TEST_PID_DIR"], f"{os.getpid()}.pid").write_text("")
        time.sleep(60.0)

    def controller(self, case: Case, day: datetime.date) -> ScheduleController:
        return ScheduleController(case, {})


class ToyThreadCheck(_ToyMethod):
    """Its ``fit`` fails unless the process runs with one OpenMP/BLAS thread."""

    name = "threadcheck"

    def fit(self, case: Case, seed: int, budget: Budget) -> None:
        if os.environ.get("OMP_NUM_THREADS") != "1":
            raise RuntimeError(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")

    def controller(self, case: Case, day: datetime.date) -> ScheduleController:
        return ScheduleController(case, {})


class ToyFitFails(_ToyMethod):
    name = "fitfail"

    def fit(self, case: Case, seed: int, budget: Budget) -> None:
        raise RuntimeError("no training data")

    def controller(self, case: Case, day: datetime.date) -> ScheduleController:
        return ScheduleController(case, {})


class ToyMultiAgent(_ToyMethod):
    name = "marl"
    family = MethodFamily.RL
    multi_agent = True

    def controller(self, case: Case, day: datetime.date) -> ScheduleController:
        return ScheduleController(case, {})


class ToySingleLayerOnly(ToyOracle):
    """Supports the single-layer toy only."""

    name = "picky"
    family = MethodFamily.BASELINE

    def supports(self, case: Case) -> bool:
        return case.id == CASE_ID


class HangController(ScheduleController):
    """Sleeps in ``act`` far beyond any test's day limit (a hang in Python code)."""

    def act(self, obs: Any, info: Mapping[str, Any]) -> np.ndarray:
        import time

        time.sleep(3600.0)
        return super().act(obs, info)


class ToyHang(_ToyMethod):
    """Its controller hangs on every day (``--day-timeout`` must end each day)."""

    name = "hanger"
    family = MethodFamily.SOLVER

    def controller(self, case: Case, day: datetime.date) -> HangController:
        return HangController(case, {})


class DeafHangController(ScheduleController):
    """Hangs with ``SIGALRM`` blocked, as native code that never returns to Python would: only
    the driver's hard stop ends it."""

    def act(self, obs: Any, info: Mapping[str, Any]) -> np.ndarray:
        import signal
        import time

        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(3600.0)
        return super().act(obs, info)


class ToyDeafHang(_ToyMethod):
    """Hangs on its second day (by date order of the request) beyond the in-process limit."""

    name = "deafhang"
    family = MethodFamily.SOLVER

    def __init__(self) -> None:
        self.days = 0

    def controller(self, case: Case, day: datetime.date) -> ScheduleController:
        self.days += 1
        if self.days == 2:
            return DeafHangController(case, {})
        return ScheduleController(case, {})


class NanController(ScheduleController):
    def act(self, obs: Any, info: Mapping[str, Any]) -> np.ndarray:
        action = super().act(obs, info)
        return np.full_like(action, np.nan)


class ToyNan(_ToyMethod):
    """Sends NaN every step: the referee plays idle, the row must say so (never ranked)."""

    name = "nanny"
    family = MethodFamily.SOLVER

    def controller(self, case: Case, day: datetime.date) -> NanController:
        return NanController(case, {})


class ToyDiesOnSecondDay(_ToyMethod):
    """As cheap as the oracle on the day it finishes, then kills its process on the next
    day: a partial unit that used to rank first."""

    name = "quitter"
    family = MethodFamily.SOLVER

    def __init__(self) -> None:
        self.days = 0

    def controller(self, case: Case, day: datetime.date) -> ScheduleController:
        self.days += 1
        if self.days >= 2:
            os._exit(9)
        return ScheduleController(case, {0: -0.8, 1: -0.8, 12: 1.6, 13: 1.6})


class ToyTrainer(_ToyMethod):
    """An RL-like method whose ``fit`` writes a run into gridbench's training directory (where
    the built-in agents write theirs), then plays idle."""

    name = "trainer"
    family = MethodFamily.RL

    def fit(self, case: Case, seed: int, budget: Budget) -> None:
        from gridbench.rl_agents.sb3_methods import training_dir

        run = training_dir() / case.id / self.name / f"seed{seed}"
        run.mkdir(parents=True, exist_ok=True)
        (run / "monitor.csv").write_text("r,l,t\n")

    def controller(self, case: Case, day: datetime.date) -> ScheduleController:
        return ScheduleController(case, {})


class ToyPidWriter(_ToyMethod):
    """Its ``fit`` records the worker's pid in ``$GRIDBENCH_TEST_PID_DIR`` (one file per
    seed): which process ran which unit."""

    name = "pidwriter"

    def fit(self, case: Case, seed: int, budget: Budget) -> None:
        from pathlib import Path

        Path(os.environ["GRIDBENCH_TEST_PID_DIR"], f"seed{seed}").write_text(str(os.getpid()))

    def controller(self, case: Case, day: datetime.date) -> ScheduleController:
        return ScheduleController(case, {})


TOY_METHODS: tuple[type, ...] = (
    ToyOracle,
    ToyDump,
    ToyNoisy,
    ToyCrash,
    ToyTimeout,
    ToyKiller,
    ToySleeper,
    ToyThreadCheck,
    ToyFitFails,
    ToyMultiAgent,
    ToySingleLayerOnly,
    ToyHang,
    ToyDeafHang,
    ToyNan,
    ToyDiesOnSecondDay,
    ToyTrainer,
    ToyPidWriter,
)


@contextmanager
def registered() -> Iterator[None]:
    """Sandboxed registries holding only the toy cases, the toy methods and ``idle``."""
    from gridbench.cases import registry
    from gridbench.solvers.idle import Idle

    with registry.sandbox():
        registry.CASES.restore({})
        registry.METHODS.restore({})
        registry.register_case(CASE_ID, "toy_case:ToyCase")
        registry.register_case(CASE_2L_ID, "toy_case:ToyTwoLayerCase")
        for cls in (Idle, *TOY_METHODS):
            registry.register_method(cls)
        yield
