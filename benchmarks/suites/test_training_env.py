"""Training throughput: env steps per second of the fair-RL training env (referee + the
protocol's wrappers: idle reward baseline, frozen observation normalization, feasible action
map), one process against a ``SubprocVecEnv`` of two stepping different train days side by
side (``env.n_envs = 2``).

Group ``training-env-steps``: reference = one env, subject = two processes; both take random
[-1, 1] actions, no learning, over ``STEPS`` env steps in all (the subject's vector steps
count twice), so ``scenarios`` = env steps and the ratio is the speed-up per env step (about
2 on two idle cores; less when the cores are shared). Building the envs and fitting the
normalization are not timed. The case is SES-carbon (24 hourly steps a day).
"""

from __future__ import annotations

import numpy as np
import pytest

GROUP = "training-env-steps"
CASE_ID = "ses-carbon-ieee33-v0"
STEPS = 480  # 20 days


@pytest.fixture(scope="module")
def setting():
    from gridbench.cases.registry import make_case
    from gridbench.rl_agents.sb3_methods import fit_obs_norm, training_plan

    case = make_case(CASE_ID)
    plan = training_plan("ppo", "reference", 24, case_id=CASE_ID)
    return case, plan, fit_obs_norm(case, 0, plan)


def _single(setting):
    from gridbench.rl_agents.sb3_methods import make_training_env

    case, plan, norm = setting
    env = make_training_env(case, 0, plan, obs_norm=norm)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    shape = env.action_space.shape

    def run() -> int:
        for _ in range(STEPS):
            _, _, terminated, truncated, _ = env.step(rng.uniform(-1, 1, shape))
            if terminated or truncated:
                env.reset()
        return STEPS

    return env, run


def _vectorized(setting):
    from gridbench.rl_agents.sb3_methods import make_vec_training_env

    case, plan, norm = setting
    env = make_vec_training_env(case, 0, plan, 2, obs_norm=norm)
    env.reset()
    rng = np.random.default_rng(0)
    shape = (2, *env.action_space.shape)

    def run() -> int:
        for _ in range(STEPS // 2):
            env.step(rng.uniform(-1, 1, shape))  # a VecEnv resets finished envs itself
        return STEPS

    return env, run


@pytest.mark.parametrize(
    ("role", "build", "label"),
    [
        ("reference", _single, "training env, 1 process"),
        ("subject", _vectorized, "SubprocVecEnv, 2 processes"),
    ],
    ids=["single", "subproc2"],
)
def test_training_env_steps(benchmark, setting, role, build, label):
    pytest.importorskip("stable_baselines3")
    env, run = build(setting)
    try:
        run()  # warm-up, untimed
        benchmark.group = GROUP
        benchmark.extra_info.update(role=role, scenarios=STEPS, solver=label)
        assert benchmark.pedantic(run, rounds=3, iterations=1) == STEPS
    finally:
        env.close()
