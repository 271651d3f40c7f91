"""Your own controller on a case's test days, ranked beside gridbench's baselines and the
perfect-foresight oracle exactly as ``gridbench leaderboard`` ranks them.

    python examples/custom_controller.py [N_DAYS]

The controller is a price-threshold rule for the SES-carbon case: charge every storage at
its rated power in the night's cheap hours and discharge in the evening peak. A controller is
any object with ``reset(obs, info)`` (once per day, after the referee's reset; plan here, the
time is counted) and ``act(obs, info) -> action`` (physical units, one entry per action of
``env.action_space``).
"""

import sys

import numpy as np
import pandas as pd

import gridbench

CASE = "ses-carbon-ieee33-v0"


class NightChargeEveningDischarge:
    """Charge the five storages at half their rating in hours 3-4, discharge in hours 19-20,
    leave the gas turbines where idle leaves them. SES-carbon's action is ``[P_1^G, P_2^G,
    P_3^G, p_1, ..., p_5]`` in MW (turbines, then storages; ``p > 0`` discharges)."""

    def reset(self, obs, info):
        self.idle = np.asarray(info["idle_action"], dtype=float)
        self.hour = 0

    def act(self, obs, info):
        action = self.idle.copy()
        rating = 0.3  # MW, the storages' action box (env.action_space.high[3:])
        if 3 <= self.hour <= 4:
            action[3:] = -0.5 * rating
        elif 19 <= self.hour <= 20:
            action[3:] = 0.5 * rating
        self.hour += 1
        return action


def main(n_days: int = 3) -> pd.DataFrame:
    rows = [
        gridbench.evaluate(NightChargeEveningDischarge(), CASE, days=n_days, name="my-rule"),
        gridbench.evaluate("idle", CASE, days=n_days),
        gridbench.evaluate("rule", CASE, days=n_days),
        gridbench.evaluate("oracle", CASE, days=n_days),
    ]
    board = gridbench.leaderboard(pd.concat(rows, ignore_index=True))
    print(board[["method", "family", "rank", "cost", "gap", "feasible"]].to_string(index=False))
    return board


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
