"""Third-party plugins end to end: real packages, built and installed by pip, used by the CLI.

Two distributions are built in a temporary directory and installed with
``pip install --no-deps --no-build-isolation --no-index --target SITE`` (offline; setuptools
from this environment builds them), then every command runs in a fresh interpreter with
``SITE`` on its ``PYTHONPATH``: exactly what an installed package looks like to
``importlib.metadata``, without touching the shared environment. (Where pip cannot build —
no setuptools — the test writes the ``*.dist-info`` with ``entry_points.txt`` itself.)

* ``gridbench-lp-arbitrage``: the worked example of ``docs/adding-a-method.md``, taken from the
  guide's marked code blocks (so the guide's lines are the tested lines): a cvxpy LP solved by
  HiGHS, on the real SES-carbon case.
* ``gridbench-demo-case`` (TEST ONLY): a plugin case ``demo-storage-v0`` (the toy storage of
  ``tests/toy_case.py`` under a new id), a bare-module entry point registering the built-in
  ``oracle``'s planner for it, and two broken entry points (a missing class, a duplicate of
  the built-in ``idle``) that must be reported in one line each and hide nothing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from toy_case import DAYS, load_mw

from gridbench.cases.contracts import Split

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "adding-a-method.md"
SES = "ses-carbon-ieee33-v0"
DEMO = "demo-storage-v0"

DEMO_FILES = {
    "pyproject.toml": """\
        [build-system]
        requires = ["setuptools>=77"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "gridbench-demo-case"
        version = "0.2.0"
        requires-python = ">=3.11"

        [project.entry-points."gridbench.cases"]
        demo-storage-v0 = "gridbench_demo_case:DemoCase"

        [project.entry-points."gridbench.methods"]
        demo-planners = "gridbench_demo_case.planners"
        broken = "gridbench_demo_case:Missing"
        idle = "gridbench_demo_case.dup:Idle"

        [tool.setuptools]
        packages = ["gridbench_demo_case"]
        """,
    "gridbench_demo_case/__init__.py": """\
        from toy_case import ToyCase


        class DemoCase(ToyCase):
            id = "demo-storage-v0"
        """,
    "gridbench_demo_case/planners.py": """\
        from toy_case import ScheduleController

        from gridbench.solvers.planners import register_planner


        @register_planner("oracle", case_prefix="demo-storage-")
        def demo_oracle(case, day):
            # charge 0.8 MW in hours 0-1, discharge 1.6 MW in hours 12-13: 1800 L - 240 $
            return ScheduleController(case, {0: -0.8, 1: -0.8, 12: 1.6, 13: 1.6})
        """,
    "gridbench_demo_case/dup.py": """\
        class Idle:
            name = "idle"
            family = "baseline"

            def supports(self, case):
                return True

            def fit(self, case, seed, budget):
                pass

            def controller(self, case, day):
                raise RuntimeError("never used")
        """,
}


def guide_files() -> dict[str, str]:
    """The guide's code blocks marked ``<!-- file: PATH -->``, by path."""
    text = GUIDE.read_text()
    blocks = re.findall(r"<!-- file: (\S+) -->\n```[a-z]*\n(.*?)\n```", text, flags=re.S)
    return {path: body + "\n" for path, body in blocks}


def _write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, body in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)


def _install(project: Path, site: Path) -> str:
    """Install ``project`` into ``site``: with pip when it can build offline, else by hand
    (sources plus a ``*.dist-info`` with METADATA and entry_points.txt)."""
    pip = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
        "--no-build-isolation", "--no-index", "--target", str(site), str(project),
    ]  # fmt: skip
    done = subprocess.run(pip, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return "pip"
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    name, version = meta["project"]["name"], meta["project"]["version"]
    tool = meta["tool"]["setuptools"]
    for module in tool.get("py-modules", []):
        shutil.copy(project / f"{module}.py", site)
    for package in tool.get("packages", []):
        shutil.copytree(project / package, site / package)
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = []
    for group, entries in meta["project"]["entry-points"].items():
        lines.append(f"[{group}]")
        lines += [f"{k} = {v}" for k, v in entries.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return "by hand"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("plugins")
    site = root / "site"
    site.mkdir()
    example = guide_files()
    assert set(example) == {
        "gridbench-lp-arbitrage/pyproject.toml",
        "gridbench-lp-arbitrage/gridbench_lp_arbitrage.py",
        "gridbench-tou-battery/pyproject.toml",
        "gridbench-tou-battery/gridbench_tou_battery.py",
        "gridbench-tou-battery/gridbench_tou_battery_planners.py",
    }
    _write_tree(root, example)
    demo = {path: textwrap.dedent(body) for path, body in DEMO_FILES.items()}
    _write_tree(root / "gridbench-demo-case", demo)
    for project in ("gridbench-lp-arbitrage", "gridbench-demo-case", "gridbench-tou-battery"):
        _install(root / project, site)
    assert (site / "gridbench_lp_arbitrage.py").exists()
    assert (site / "gridbench_tou_battery.py").exists()
    return site


def gridbench(site: Path, *args: object) -> subprocess.CompletedProcess[str]:
    """``gridbench ARGS`` in a fresh interpreter that sees the installed plugins (and the toy
    case module they build on)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT / "tests")])
    return subprocess.run(
        [sys.executable, "-m", "gridbench.benchmarks.cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )


def _warnings(stderr: str) -> list[str]:
    """The plugin warnings (not those of a built-in module being edited meanwhile)."""
    return [
        line
        for line in stderr.splitlines()
        if line.startswith("gridbench: warning: gridbench.methods plugin")
    ]


def test_plugins_appear_and_broken_ones_are_one_line_each(site):
    out = gridbench(site, "methods", "--json")
    assert out.returncode == 0, out.stderr
    methods = {m["name"]: m for m in json.loads(out.stdout)}
    assert methods["lp-arbitrage"] == {
        "name": "lp-arbitrage",
        "family": "solver",
        "cases": [SES],
    }
    assert DEMO in methods["oracle"]["cases"] and SES in methods["oracle"]["cases"]
    assert {"idle", "rule", "mpc", "ppo"} <= set(methods)  # built-ins never hidden
    assert "broken" not in methods

    warnings = _warnings(out.stderr)
    assert len(warnings) == 2, out.stderr
    broken, duplicate = sorted(warnings)
    assert broken.startswith(
        "gridbench: warning: gridbench.methods plugin 'broken' = 'gridbench_demo_case:Missing' "
        "from gridbench-demo-case 0.2.0: entry point does not resolve"
    )
    assert duplicate == (
        "gridbench: warning: gridbench.methods plugin 'idle' = 'gridbench_demo_case.dup:Idle' "
        "from gridbench-demo-case 0.2.0: duplicate method name 'idle', already registered by "
        "builtin (gridbench.solvers.idle:Idle); plugin ignored"
    )


def test_plugins_run_in_worker_processes_and_land_on_the_leaderboard(site, tmp_path):
    results = tmp_path / "results"
    common = ("--seeds", 1, "--budget", "smoke", "--results", results, "--no-progress")
    ses = gridbench(site, "run", "--case", SES, "--method", "lp-arbitrage", "--method", "idle",
                    "--days", 1, "--workers", 1, *common)  # fmt: skip
    assert ses.returncode == 0, ses.stderr
    assert "wrote 2 row(s)" in ses.stdout
    # spawned workers: each loads the installed plugins first, so the built-in oracle finds
    # the plugin's planner there too
    demo = gridbench(site, "run", "--case", DEMO, "--method", "oracle", "--method", "idle",
                     "--days", 2, "--workers", 2, *common)  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    assert "wrote 4 row(s)" in demo.stdout and "day statuses: ok 4" in demo.stdout

    board = gridbench(site, "leaderboard", "--results", results, "--format", "json")
    assert board.returncode == 0, board.stderr
    rows = {(r["case"], r["method"]): r for r in json.loads(board.stdout)}
    lp, idle = rows[(SES, "lp-arbitrage")], rows[(SES, "idle")]
    assert lp["family"] == "solver" and lp["feasible"] and lp["n_days"] == 1
    assert lp["cost"] < idle["cost"]  # arbitrage against the tariff pays on that day

    # the plugin case with the built-in oracle's plugin planner: exact by hand
    loads = [load_mw(d) for d in DAYS[Split.TEST][:2]]
    assert rows[(DEMO, "idle")]["cost"] == pytest.approx(sum(1800.0 * x for x in loads) / 2)
    assert rows[(DEMO, "oracle")]["cost"] == pytest.approx(
        sum(1800.0 * x - 240.0 for x in loads) / 2
    )
    assert rows[(DEMO, "oracle")]["family"] == "bound"


def test_the_guides_case_runs_every_generic_planner_and_the_oracle_bounds_them(site, tmp_path):
    """``docs/adding-a-method.md`` §7: a case written against the case surface only gets the
    generic ``oracle``, ``day-ahead`` and ``mpc``; on its test days the oracle is below every
    deployable method, re-planning on fresher forecasts is no worse than planning once, and
    everything beats idling."""
    case = "tou-battery-v0"
    listed = gridbench(site, "methods", "--case", case, "--json")
    assert listed.returncode == 0, listed.stderr
    names = {m["name"] for m in json.loads(listed.stdout)}
    assert {"oracle", "day-ahead", "mpc", "idle"} <= names

    results = tmp_path / "results"
    run = gridbench(site, "run", "--case", case, "--method", "oracle", "--method", "day-ahead",
                    "--method", "mpc", "--method", "idle", "--seeds", 1, "--budget", "smoke",
                    "--days", 3, "--results", results, "--no-progress")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "wrote 12 row(s)" in run.stdout and "day statuses: ok 12" in run.stdout
    board = gridbench(site, "leaderboard", "--results", results, "--format", "json")
    assert board.returncode == 0, board.stderr
    cost = {r["method"]: r["cost"] for r in json.loads(board.stdout) if r["case"] == case}
    assert cost["oracle"] <= cost["mpc"] + 1e-6
    assert cost["oracle"] <= cost["day-ahead"] + 1e-6
    assert cost["mpc"] < cost["idle"] and cost["day-ahead"] < cost["idle"]
