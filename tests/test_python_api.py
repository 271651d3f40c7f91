"""The Python API: README's "Python API" examples run as written, ``gymnasium.make`` for every
registered case (a plugin case included), and the pieces the examples rely on."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import toy_case
from toy_case import CASE_ID, DAYS, load_mw

import gridbench
from gridbench.cases import registry
from gridbench.cases.contracts import Split
from gridbench.cases.gym_envs import gym_id

ROOT = Path(__file__).resolve().parents[1]


def _readme_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_readme_has_three_python_api_examples():
    assert len(_readme_blocks()) == 3


@pytest.mark.parametrize("index", range(3))
def test_readme_python_api_example_runs(index, tmp_path):
    """Each block runs as a user would run it: a fresh interpreter, nothing imported before."""
    script = tmp_path / f"example_{index}.py"
    script.write_text(_readme_blocks()[index], encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip(), "the example prints its result"


def test_gym_make_works_for_every_registered_case():
    registry.discover_builtin_cases()
    for case_id in registry.case_ids():
        env = gym.make(gym_id(case_id), day="test:0")
        obs, info = env.reset(seed=0)
        assert env.spec is not None and env.spec.id == f"gridbench/{case_id}"
        assert env.observation_space.contains(obs)
        assert info["day"] == registry.make_case(case_id).days("test")[0].isoformat()
        env.step(env.action_space.sample())
        env.close()


def test_gym_split_draws_days_of_that_split_reproducibly():
    env = gridbench.make_env("ses-carbon-ieee33-v0", split="val")
    val = {d.isoformat() for d in gridbench.make_case("ses-carbon-ieee33-v0").days("val")}
    first = [env.reset(seed=7)[1]["day"]] + [env.reset()[1]["day"] for _ in range(4)]
    again = [env.reset(seed=7)[1]["day"]] + [env.reset()[1]["day"] for _ in range(4)]
    assert set(first) <= val and first == again and len(set(first)) > 1
    with pytest.raises(ValueError, match="not both"):
        gridbench.make_env("ses-carbon-ieee33-v0", day="test:0", split="val")


def test_gym_make_of_a_toy_case_registered_like_a_plugin():
    """A case registered at run time (as a plugin's entry point is) gets its Gymnasium id at
    once; the env is the registry's (exact toy numbers)."""
    with toy_case.registered():
        env = gym.make(gym_id(CASE_ID), day="test:1")
        _, info = env.reset(seed=0)
        idle = np.asarray(info["idle_action"])
        infos, done = [], False
        while not done:
            _, _, terminated, truncated, info = env.step(idle)
            infos.append(info)
            done = terminated or truncated
        day = DAYS[Split.TEST][1]
        assert gridbench.day_metrics(infos)["cost"] == pytest.approx(1800 * load_mw(day))


def test_make_case_finds_the_built_ins_without_any_import():
    code = textwrap.dedent(
        """
        from gridbench.cases.registry import make_case
        print(make_case("loss-arbitrage-ieee33-v0").id)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "loss-arbitrage-ieee33-v0"


def test_evaluate_rejects_what_is_not_a_policy():
    with pytest.raises(ValueError, match="is not valid; valid: a controller"):
        gridbench.evaluate(object(), "ses-carbon-ieee33-v0", days=1)


def test_evaluate_rows_equal_the_harness_rows():
    """``evaluate`` of a registered method gives the rows ``gridbench run`` stores (less the
    timing columns)."""
    from gridbench.benchmarks.harness import TIMING_COLUMNS, evaluate_day
    from gridbench.benchmarks.plugins import load_all

    load_all(warn=False)
    case = gridbench.make_case("ses-carbon-ieee33-v0")
    rows = gridbench.evaluate("rule", case, days=["test:2"])
    method = registry.get_method("rule").make()
    method.fit(case, 0, "quick")
    expected = evaluate_day(case, method, "test:2", 0, budget="quick")
    got = rows.iloc[0].to_dict()
    for key, value in expected.items():
        if key in TIMING_COLUMNS:
            continue
        if isinstance(value, float) and np.isnan(value):
            assert np.isnan(got[key]), key
        else:
            assert got[key] == value, key


EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def test_there_are_three_examples():
    assert [p.name for p in EXAMPLES] == [
        "custom_controller.py",
        "random_policy.py",
        "train_sb3_agent.py",
    ]


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_as_a_user_runs_it(script, tmp_path):
    """Each example script, run from a scratch directory with its smallest arguments."""
    args = {"custom_controller": ["1"], "train_sb3_agent": ["240"]}.get(script.stem, [])
    out = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip()
    if script.stem != "random_policy":
        assert "oracle" in out.stdout and "idle" in out.stdout
