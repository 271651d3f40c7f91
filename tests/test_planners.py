"""The shared planning methods: one method name, one planner per case family."""

from __future__ import annotations

import datetime

import pytest

import gridbench.solvers  # noqa: F401  (registers the built-in planners)
from gridbench.cases.contracts import MethodFamily
from gridbench.cases.registry import DuplicateNameError, UnknownNameError, get_method
from gridbench.solvers import planners


class _Case:
    def __init__(self, case_id: str) -> None:
        self.id = case_id


def test_common_planning_methods_are_registered_once_with_their_families():
    expected = {"oracle": MethodFamily.BOUND, "day-ahead": MethodFamily.SOLVER,
                "mpc": MethodFamily.SOLVER, "rule": MethodFamily.BASELINE}
    assert {cls.name: cls.family for cls in planners.COMMON_PLANNERS} == expected
    for cls in planners.COMMON_PLANNERS:
        spec = get_method(cls.name)
        assert spec.family is cls.family
        assert spec.cls is planners.PLANNER_METHODS[cls.name] is cls
        assert spec.entry_point == f"gridbench.solvers.planners:{cls.__qualname__}"


def test_a_method_supports_exactly_the_prefixes_it_has_planners_for():
    mpc = get_method("mpc").make()
    assert mpc.supports(_Case("ses-carbon-ieee33-v0"))
    assert mpc.supports(_Case("ses-carbon-ieee33-v7"))
    assert not mpc.supports(_Case("toy-storage-v0"))
    with pytest.raises(ValueError, match="does not support case 'toy-storage-v0'"):
        mpc.controller(_Case("toy-storage-v0"), datetime.date(2016, 1, 1))


def test_longest_prefix_wins_and_duplicates_are_rejected(monkeypatch):
    monkeypatch.setattr(planners, "_PLANNERS", {})

    @planners.register_planner("rule", case_prefix="demo-")
    def generic(case, day):
        return "generic"

    @planners.register_planner("rule", case_prefix="demo-special-")
    def special(case, day):
        return "special"

    rule = get_method("rule").make()
    day = datetime.date(2016, 1, 1)
    assert rule.controller(_Case("demo-feeder-v0"), day) == "generic"
    assert rule.controller(_Case("demo-special-v0"), day) == "special"
    # re-registering the same function (a module re-import) is a no-op
    planners.register_planner("rule", case_prefix="demo-")(generic)

    def other(case, day):
        return "other"

    with pytest.raises(DuplicateNameError, match="registered twice"):
        planners.register_planner("rule", case_prefix="demo-")(other)


def test_unknown_method_and_bad_prefix_get_one_line_errors():
    with pytest.raises(UnknownNameError, match="did you mean 'mpc'"):
        planners.register_planner("mcp", case_prefix="demo-")
    with pytest.raises(ValueError, match="ending in '-'"):
        planners.register_planner("mpc", case_prefix="demo")


def test_planning_method_is_idempotent_and_rejects_a_second_class():
    assert planners.planning_method(planners.OracleMethod) is planners.OracleMethod

    class Oracle2(planners.PlannerMethod):
        """Another oracle."""

        name = "oracle"
        family = MethodFamily.BOUND

    with pytest.raises(DuplicateNameError, match="defined twice"):
        planners.planning_method(Oracle2)
    assert planners.PLANNER_METHODS["oracle"] is planners.OracleMethod


def test_planning_methods_pickle_by_reference():
    import pickle

    for cls in planners.PLANNER_METHODS.values():
        assert pickle.loads(pickle.dumps(cls())).__class__ is cls
