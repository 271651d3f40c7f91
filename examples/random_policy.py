"""A random policy on one test day of a gridbench case, scored with the leaderboard's KPIs.

    python examples/random_policy.py [CASE_ID] [DAY]

Any registered case works (``gridbench cases``); DAY is an ISO date or SPLIT:K (``test:0``).
Actions are in physical units (MW, Mvar); the referee projects what is infeasible and says so
in ``info["projection"]``.
"""

import sys

import gymnasium as gym

import gridbench


def main(case_id: str = "ses-carbon-ieee33-v0", day: str = "test:0") -> dict:
    env = gym.make(f"gridbench/{case_id}", day=day)
    env.action_space.seed(0)
    _, info = env.reset(seed=0)
    initial_soc, infos, done = info["soc"], [], False
    projected = 0
    while not done:
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        infos.append(info)
        projected += info["projection"]["n_clipped"]
        done = terminated or truncated
    env.close()
    kpis = gridbench.day_metrics(infos, initial_soc=initial_soc)
    print(f"{case_id} on {info['day']}: {len(infos)} steps, cost {kpis['cost']:.2f} $, "
          f"emissions {kpis['emissions_t']:.3f} t, feasible {kpis['feasible']}, "
          f"{projected} action entries projected by the referee")
    return kpis


if __name__ == "__main__":
    main(*sys.argv[1:3])
