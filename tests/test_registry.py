"""Tests of the case/method registries, the contracts and plugin discovery."""

from __future__ import annotations

import datetime
import sys
import textwrap
import warnings
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

import gridbench.solvers  # noqa: F401  (registers the built-in solvers, e.g. idle)
from gridbench.benchmarks import plugins
from gridbench.benchmarks.plugins import PluginProblem, PluginWarning, load_all
from gridbench.cases import registry
from gridbench.cases.contracts import (
    BaseCase,
    Budget,
    Case,
    CaseConfig,
    CaseConfigError,
    DaySpecError,
    MethodContractError,
    MethodFamily,
    Split,
    UnknownChoiceError,
    method_problems,
    parse_day,
)
from gridbench.cases.registry import (
    DuplicateNameError,
    EntryPointError,
    MalformedIdError,
    UnknownNameError,
    case_ids,
    get_method,
    make_case,
    make_method,
    method_names,
    register_case,
    register_method,
)


@pytest.fixture(autouse=True)
def _isolated_registries() -> Iterator[None]:
    with registry.sandbox():
        yield


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on ``sys.path`` for throw-away modules; they are unloaded afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("fake_"):
            del sys.modules[name]


def _write(folder: Path, module: str, source: str) -> None:
    (folder / f"{module}.py").write_text(textwrap.dedent(source))


GOOD_METHOD = """
    from gridbench.cases.contracts import MethodFamily

    class Controller:
        def reset(self, obs, info): pass
        def act(self, obs, info): return obs

    class {cls}:
        name = "{name}"
        family = MethodFamily.SOLVER
        def supports(self, case): return True
        def fit(self, case, seed, budget): return None
        def controller(self, case, day): return Controller()
"""

FAKE_CASE = """
    import datetime
    from gridbench.cases.contracts import BaseCase, CaseConfig
    from gridbench.cases.referee import Timeline

    class Config(CaseConfig):
        horizon: int = 24

    class FakeCase(BaseCase):
        id = "fake-case-v0"
        grid = "none"
        paper = "none"
        timeline = Timeline.single(24, 1.0)
        config_model = Config
        def days(self, split):
            return (datetime.date(2016, 1, 1), datetime.date(2016, 1, 2))
        def make_core(self):
            raise NotImplementedError
"""


# ---------------------------------------------------------------------------- cases
@pytest.mark.parametrize(
    "bad", ["Ses-v0", "ses", "ses-v01", "ses_carbon-v0", "-ses-v0", "ses--x-v0", "ses-v", ""]
)
def test_malformed_case_ids_rejected(bad: str) -> None:
    with pytest.raises(MalformedIdError, match="malformed case id"):
        register_case(bad, "fake_mod:Case")
    assert bad not in case_ids()


def test_malformed_entry_point_rejected() -> None:
    for bad in ("fake_mod.Case", "fake mod:Case", ":Case", "fake_mod:"):
        with pytest.raises(MalformedIdError, match="malformed entry point"):
            register_case("fake-v0", bad)


def test_duplicate_case_rejected_naming_both_sources() -> None:
    register_case("fake-a-v0", "fake_mod:A")
    register_case("fake-a-v0", "fake_mod:A")  # identical re-registration: no-op
    with pytest.raises(DuplicateNameError) as exc:
        register_case("fake-a-v0", "other_mod:A", source="other-dist")
    msg = str(exc.value)
    assert "duplicate case 'fake-a-v0'" in msg and "\n" not in msg
    assert "plugin from 'other-dist' (other_mod:A)" in msg and "builtin (fake_mod:A)" in msg
    register_case("fake-a-v1", "fake_mod:A")  # a new version is a new id
    assert {"fake-a-v0", "fake-a-v1"} <= set(case_ids())


def test_unknown_case_suggests_closest() -> None:
    register_case("toy-grid-ieee33-v0", "fake_mod:A")
    register_case("ev-fleet-feeder38-v0", "fake_mod:B")
    with pytest.raises(UnknownNameError) as exc:
        make_case("toy-grid-ieee33-v1")
    msg = str(exc.value)
    assert msg.startswith(
        "unknown case 'toy-grid-ieee33-v1'; did you mean 'toy-grid-ieee33-v0'? (known: "
    )
    assert "ev-fleet-feeder38-v0, " in msg and "\n" not in msg
    with pytest.raises(UnknownNameError, match="did you mean 'toy-grid-ieee33-v0'"):
        make_case("toy-grid-ieee33")  # versions are explicit
    with pytest.raises(UnknownNameError, match=r"^unknown case 'zzz' \(known: "):
        make_case("zzz")


def test_registering_is_lazy_make_imports(plugin_dir: Path) -> None:
    _write(plugin_dir, "fake_case_lazy", FAKE_CASE)
    spec = register_case("fake-case-v0", "fake_case_lazy:FakeCase", config={"horizon": 12})
    assert "fake_case_lazy" not in sys.modules
    assert (spec.name, spec.version) == ("fake-case", 0)
    case = make_case("fake-case-v0")
    assert "fake_case_lazy" in sys.modules
    assert isinstance(case, Case) and case.config.horizon == 12
    assert (case.steps, case.step_hours) == (24, 1.0)
    assert make_case("fake-case-v0", config={"horizon": 6}).config.horizon == 6


def test_make_case_errors(plugin_dir: Path) -> None:
    _write(plugin_dir, "fake_case_err", FAKE_CASE)
    register_case("fake-other-v0", "fake_case_err:FakeCase")
    with pytest.raises(EntryPointError, match="made a case with id 'fake-case-v0'"):
        make_case("fake-other-v0")
    register_case("fake-missing-v0", "fake_case_err:Nope")
    with pytest.raises(EntryPointError, match="has no attribute 'Nope'"):
        make_case("fake-missing-v0")
    register_case("fake-nomod-v0", "fake_no_such_module:X")
    with pytest.raises(EntryPointError, match="cannot import 'fake_no_such_module'"):
        make_case("fake-nomod-v0")


def test_base_case_config_and_days(plugin_dir: Path) -> None:
    _write(plugin_dir, "fake_case_cfg", FAKE_CASE)
    register_case("fake-case-v0", "fake_case_cfg:FakeCase")
    with pytest.raises(CaseConfigError) as exc:
        make_case("fake-case-v0", config={"horizn": 3, "horizon": "x"})
    msg = str(exc.value)
    assert msg.startswith("bad config for fake-case-v0: ") and "\n" not in msg
    assert "horizn: Extra inputs are not permitted" in msg and "(fields: horizon)" in msg
    case = make_case("fake-case-v0")
    assert parse_day("test:1", case) == datetime.date(2016, 1, 2)
    assert parse_day("2016-03-04", case) == datetime.date(2016, 3, 4)
    with pytest.raises(DaySpecError, match=r"has 2 days \(valid K: 0\.\.1\)"):
        parse_day("val:2", case)
    with pytest.raises(UnknownChoiceError, match="unknown split 'tst'; valid: train, val, test"):
        parse_day("tst:0", case)
    with pytest.raises(DaySpecError, match="neither an ISO date"):
        case.resolve_day("yesterday")
    assert isinstance(case, BaseCase) and issubclass(type(case.config), CaseConfig)


# ---------------------------------------------------------------------------- contracts
def test_enums() -> None:
    assert Budget("full") is Budget.REFERENCE and Budget.parse("full") is Budget.REFERENCE
    assert Budget.parse("smoke") is Budget.SMOKE
    with pytest.raises(UnknownChoiceError, match="unknown budget 'huge'; valid: smoke, quick"):
        Budget.parse("huge")
    assert MethodFamily.parse("bound") is MethodFamily.BOUND
    with pytest.raises(UnknownChoiceError, match="unknown method family 'ml'"):
        MethodFamily.parse("ml")
    assert Split.parse("val") is Split.VAL


def _method_class(**overrides: object) -> type:
    attrs: dict[str, object] = {
        "name": "fake",
        "family": "baseline",
        "supports": lambda self, case: True,
        "fit": lambda self, case, seed, budget: None,
        "controller": lambda self, case, day: None,
    }
    attrs.update(overrides)
    return type("Fake", (), {k: v for k, v in attrs.items() if v is not None})


def test_method_contract_problems() -> None:
    assert method_problems(_method_class()) == ()
    assert method_problems(_method_class(fit=staticmethod(lambda case, seed, budget: None))) == ()
    problems = method_problems(
        _method_class(name="Bad Name", family="ml", fit=lambda self, case: None, controller=None)
    )
    assert len(problems) == 4
    assert "name 'Bad Name' must match" in problems[0]
    assert "family 'ml' is not one of solver, rl, baseline, bound" in problems[1]
    assert "fit(self, case) cannot be called as fit(case, seed, budget)" in problems[2]
    assert "missing method controller(case, day)" in problems[3]
    needs_args = _method_class(__init__=lambda self, path: None)
    assert "needs constructor arguments" in method_problems(needs_args)[0]
    assert method_problems(object()) == ("expected a class, got object",)


# ---------------------------------------------------------------------------- methods
def test_builtin_idle_registered() -> None:
    spec = get_method("idle")
    assert spec.family is MethodFamily.BASELINE and spec.source == "builtin"
    assert spec.entry_point == "gridbench.solvers.idle:Idle"
    assert "idle" in method_names("baseline") and "idle" not in method_names("rl")
    assert make_method("idle").name == "idle"


def test_register_method_decorator_and_duplicates() -> None:
    cls = register_method(_method_class(name="tdmpc", family="rl"))
    assert get_method("tdmpc").cls is cls
    register_method(cls)  # same class again: no-op
    with pytest.raises(DuplicateNameError) as exc:
        register_method(source="some-dist")(_method_class(name="tdmpc", family="rl"))
    msg = str(exc.value)
    assert "duplicate method 'tdmpc': plugin from 'some-dist'" in msg
    assert "clashes with the registered builtin" in msg
    with pytest.raises(MethodContractError, match="does not satisfy the Method contract: "):
        register_method(_method_class(name="broken", fit=None))
    assert "broken" not in method_names()


def test_unknown_method_did_you_mean() -> None:
    register_method(_method_class(name="tdmpc", family="rl"))
    with pytest.raises(UnknownNameError) as exc:
        get_method("tdmcp")
    msg = str(exc.value)
    assert msg.startswith("unknown method 'tdmcp'; did you mean 'tdmpc'? (known: ")
    assert "tdmpc" in msg and "idle" in msg and "\n" not in msg
    assert isinstance(exc.value, ValueError)


# ---------------------------------------------------------------------------- plugins
def _fake_entry_points(
    monkeypatch: pytest.MonkeyPatch, groups: dict[str, list[tuple[str, str]]]
) -> None:
    def entry_points(*, group: str | None = None, **_: object) -> list[metadata.EntryPoint]:
        return [
            metadata.EntryPoint(name=name, value=value, group=g)
            for g, eps in groups.items()
            if group in (None, g)
            for name, value in eps
        ]

    monkeypatch.setattr(metadata, "entry_points", entry_points)


def test_good_method_plugin_loads(plugin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(plugin_dir, "fake_plugin_good", GOOD_METHOD.format(cls="MyMpc", name="my-mpc"))
    _fake_entry_points(monkeypatch, {"gridbench.methods": [("my-mpc", "fake_plugin_good:MyMpc")]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, methods, problems = load_all()
    assert problems == ()
    names = [m.name for m in methods]
    assert "my-mpc" in names and "idle" in names
    spec = get_method("my-mpc")
    assert spec.source == "entry point my-mpc" and spec.family is MethodFamily.SOLVER
    assert load_all(warn=False)[2] == ()  # idempotent


@pytest.mark.parametrize(
    ("module_source", "value", "expected"),
    [
        (
            GOOD_METHOD.format(cls="Mpc", name="x"),
            "fake_plugin_bad:Missing",
            "entry point does not resolve (AttributeError",
        ),
        (
            None,
            "fake_plugin_nomodule:Mpc",
            "entry point does not resolve (ModuleNotFoundError: No module named "
            "'fake_plugin_nomodule'",
        ),
        (
            GOOD_METHOD.format(cls="Mpc", name="x").replace(
                "fit(self, case, seed, budget)", "fit(self, case)"
            ),
            "fake_plugin_bad:Mpc",
            "does not satisfy the Method contract: fit(self, case) cannot be called as "
            "fit(case, seed, budget)",
        ),
        (
            GOOD_METHOD.format(cls="Mpc", name="idle"),
            "fake_plugin_bad:Mpc",
            "duplicate method name 'idle', already registered by builtin "
            "(gridbench.solvers.idle:Idle); plugin ignored",
        ),
        (
            "raise RuntimeError('boom at import')",
            "fake_plugin_bad:Mpc",
            "entry point does not resolve (RuntimeError: boom at import)",
        ),
    ],
    ids=[
        "missing-attribute",
        "missing-module",
        "wrong-signature",
        "duplicate-name",
        "import-error",
    ],
)
def test_broken_method_plugin_is_one_problem(
    plugin_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    module_source: str | None,
    value: str,
    expected: str,
) -> None:
    if module_source is not None:
        _write(plugin_dir, "fake_plugin_bad", module_source)
    _write(plugin_dir, "fake_plugin_ok", GOOD_METHOD.format(cls="Ok", name="ok-method"))
    _fake_entry_points(
        monkeypatch,
        {"gridbench.methods": [("broken", value), ("ok-method", "fake_plugin_ok:Ok")]},
    )
    with pytest.warns(PluginWarning) as record:
        _, methods, problems = load_all()
    assert len(problems) == 1 and len(record) == 1
    (problem,) = problems
    assert isinstance(problem, PluginProblem)
    line = str(record[0].message)
    assert line == str(problem) and "\n" not in line
    assert line.startswith(f"gridbench.methods plugin 'broken' = '{value}' from ?: ")
    assert expected in line
    names = {m.name for m in methods}
    assert {"idle", "ok-method"} <= names  # built-ins and the other plugins survive
    assert get_method("idle").source == "builtin"


def test_case_plugins(plugin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(plugin_dir, "fake_case_plugin", FAKE_CASE)
    register_case("builtin-case-v0", "fake_mod:A")
    _fake_entry_points(
        monkeypatch,
        {
            "gridbench.cases": [
                ("fake-case-v0", "fake_case_plugin:FakeCase"),
                ("Bad_Id", "fake_case_plugin:FakeCase"),
                ("gone-v0", "fake_case_nomodule:Case"),
                ("builtin-case-v0", "fake_case_plugin:FakeCase"),
            ]
        },
    )
    with pytest.warns(PluginWarning):
        cases, _, problems = load_all()
    assert "fake_case_plugin" not in sys.modules  # validated without importing
    ids = [c.id for c in cases]
    assert "fake-case-v0" in ids and "builtin-case-v0" in ids
    texts = [p.problem for p in problems]
    assert len(problems) == 3
    assert texts[0].startswith("MalformedIdError: malformed case id 'Bad_Id'")
    assert texts[1] == "entry point does not resolve: no module 'fake_case_nomodule'"
    assert "duplicate case 'builtin-case-v0'" in texts[2]
    assert make_case("fake-case-v0").id == "fake-case-v0"


def test_builtins_load_without_problems() -> None:
    cases, methods, problems = load_all(warn=False)
    assert problems == (), [str(p) for p in problems]
    assert "idle" in {m.name for m in methods}
    assert plugins.METHOD_GROUP == "gridbench.methods"
    assert all(c.source == "builtin" for c in cases)


def test_builtin_methods_come_back_after_a_sandbox_dropped_them() -> None:
    # a registry restored from a snapshot taken before rl_agents was imported loses its
    # methods while the modules stay imported; discovery registers them again (the test-order
    # leak of `pytest tests/test_cli_run.py tests/test_executor_ray.py`)
    assert plugins.import_builtin_methods() == ()
    everything = set(registry.METHODS.names())
    assert {"ppo", "sac", "oracle", "mpc", "idle"} <= everything
    with registry.sandbox():
        registry.METHODS.restore({})
        assert "ppo" not in registry.METHODS
        assert plugins.import_builtin_methods() == ()
        assert set(registry.METHODS.names()) == everything
        assert registry.get_method("ppo").source == registry.BUILTIN
