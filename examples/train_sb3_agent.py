"""Train a Stable-Baselines3 agent on a gridbench referee and score it on test days as the
leaderboard does.

    python examples/train_sb3_agent.py [TIMESTEPS]

``gridbench.training_env`` is the environment gridbench's own PPO trains on (random ``train``
days, observations mapped onto [-1, 1], the reward scale of ``rl_agents/hyperparams.json``,
actions in [-1, 1]); ``gridbench.evaluate`` plays the trained model on the plain referee
with the same maps. The default budget here is tiny (a smoke run); the shipped agents train
300k env steps (``rl_agents/README.md``).
"""

import sys

import pandas as pd
from stable_baselines3 import PPO

import gridbench

CASE = "ses-carbon-ieee33-v0"


def main(timesteps: int = 480) -> pd.DataFrame:
    env = gridbench.training_env(CASE, method="ppo", seed=0)
    model = PPO("MlpPolicy", env, n_steps=240, batch_size=48, seed=0, device="cpu", verbose=0)
    model.learn(total_timesteps=timesteps)
    rows = pd.concat(
        [
            gridbench.evaluate(model, CASE, days=2, method="ppo", name="my-ppo"),
            gridbench.evaluate("idle", CASE, days=2),
            gridbench.evaluate("oracle", CASE, days=2),
        ],
        ignore_index=True,
    )
    board = gridbench.leaderboard(rows)
    print(board[["method", "rank", "cost", "gap", "decision_ms_p50"]].to_string(index=False))
    return board


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 480)
