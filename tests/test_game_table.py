"""``benchmarks/game_table.py`` on hand-made rows: exact means, system cost and leader regret."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from gridbench.benchmarks.game_table import allocation_table, game_table, main


def _row(method: str, day: str, dso: float, ea: float, la: float, gsess: float) -> dict:
    return {"case": "stackelberg-gsess-feeder38-v0", "method": method, "day": day,
            "status": "ok", "profit_dso": dso, "profit_ea": ea, "profit_la": la,
            "profit_gsess": gsess}  # fmt: skip


def test_game_table_by_hand():
    """Two days: the oracle earns 100 and 200, tou 90 and 150 → tou's leader regret is the
    mean of 10 % and 25 % = 17.5 %; system cost = −Σ profits (day 1: −(90 + 10 − 500 − 50) =
    450, day 2: −(150 + 10 − 500 − 50) = 390 → 420)."""
    frame = pd.DataFrame([
        _row("oracle", "2016-01-01", 100.0, 20.0, -500.0, -50.0),
        _row("oracle", "2016-01-02", 200.0, 20.0, -500.0, -50.0),
        _row("tou", "2016-01-01", 90.0, 10.0, -500.0, -50.0),
        _row("tou", "2016-01-02", 150.0, 10.0, -500.0, -50.0),
        {**_row("tou", "2016-01-03", 0.0, 0.0, 0.0, 0.0), "status": "error"},
        {"case": "ses-carbon-ieee33-v0", "method": "ppo", "day": "2016-01-01", "status": "ok"},
    ])  # fmt: skip
    table = game_table(frame).set_index("method")
    assert table.loc["tou", "days"] == 2 and table.loc["oracle", "leader_regret"] == 0.0
    assert table.loc["tou", "leader_regret"] == pytest.approx(0.175)
    assert table.loc["tou", "system_cost"] == pytest.approx(420.0)
    assert table.loc["oracle", "profit_dso"] == pytest.approx(150.0)
    assert list(table.index) == ["oracle", "tou"]  # the DSO's best first
    assert table["follower_regret"].isna().all()  # rows without regrets: no gap claimed
    # with the followers' regrets: tou's followers lose 5 $ + 15 $ on day 1, 0 on day 2 →
    # 10 $/day; gap = mean(0.10 + 20/100, 0.25 + 0/200) = 0.275
    regret = {("tou", "2016-01-01"): (5.0, 15.0, 0.0)}
    for col, k in (("regret_ea", 0), ("regret_la", 1), ("regret_gsess", 2)):
        frame[col] = [regret.get((m, d), (0.0, 0.0, 0.0))[k]
                      for m, d in zip(frame["method"], frame["day"], strict=True)]
    table = game_table(frame).set_index("method")
    assert table.loc["tou", "follower_regret"] == pytest.approx(10.0)
    assert table.loc["tou", "stackelberg_gap"] == pytest.approx(0.275)
    assert table.loc["oracle", "stackelberg_gap"] == 0.0


def test_game_table_cli_without_results_is_one_line(tmp_path, capsys):
    assert main(["--results", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err


def test_price_of_hierarchy_against_the_social_rows():
    """social's system cost 400 $ (day 1, with a 20 $ line penalty: 380 + 20) and 350 $; tou's
    450 and 390 → price of hierarchy mean(50/400, 40/350)."""
    frame = pd.DataFrame([
        _row("oracle", "2016-01-01", 100.0, 20.0, -500.0, -50.0),
        _row("oracle", "2016-01-02", 200.0, 20.0, -500.0, -50.0),
        _row("tou", "2016-01-01", 90.0, 10.0, -500.0, -50.0),
        _row("tou", "2016-01-02", 150.0, 10.0, -500.0, -50.0),
        {**_row("social", "2016-01-01", 160.0, 10.0, -500.0, -50.0), "penalty_usd": 20.0},
        _row("social", "2016-01-02", 190.0, 10.0, -500.0, -50.0),
    ])  # fmt: skip
    table = game_table(frame).set_index("method")
    assert table.loc["social", "price_of_hierarchy"] == pytest.approx(0.0)
    assert table.loc["social", ["leader_regret", "stackelberg_gap"]].isna().all()
    assert table.loc["tou", "price_of_hierarchy"] == pytest.approx((50 / 400 + 40 / 350) / 2)
    assert game_table(frame[frame["method"] != "social"])["price_of_hierarchy"].isna().all()


def test_benefit_allocation_by_hand():
    """GSESS: the oracle's day gains over tou are DSO +10, EA +10, LA 0, storage 0 (Jain 0.5);
    on CSESS the oracle's storage earns 30 $ less and its DSO 5 $ more → GSESS − CSESS:
    DSO −5, storage +30, system cost −25. Gains (15, 10, 0, −30) count the loss as 0:
    Jain 25² / (4·(225 + 100)) = 625/1300."""
    rows = [_row("oracle", "2016-01-01", 100.0, 20.0, -500.0, -50.0),
            _row("tou", "2016-01-01", 90.0, 10.0, -500.0, -50.0)]
    csess = [{**r, "case": "stackelberg-csess-feeder38-v0"} for r in rows]
    csess[0] = {**csess[0], "profit_dso": 105.0, "profit_gsess": -80.0}
    table = allocation_table(pd.DataFrame(rows + csess)).set_index(["case", "method"])
    g = table.loc[("stackelberg-gsess-feeder38-v0", "oracle")]
    assert [g.gain_dso, g.gain_ea, g.gain_la, g.gain_gsess] == [10.0, 10.0, 0.0, 0.0]
    assert g.jain == pytest.approx(0.5)
    assert [g.vs_csess_dso, g.vs_csess_gsess, g.vs_csess_system_cost] == [-5.0, 30.0, -25.0]
    t = table.loc[("stackelberg-gsess-feeder38-v0", "tou")]
    assert t.gain_dso == 0.0 and t.jain == 1.0 and t.vs_csess_system_cost == 0.0
    c = table.loc[("stackelberg-csess-feeder38-v0", "oracle")]
    assert math.isnan(c.vs_csess_dso)
    assert [c.gain_dso, c.gain_gsess] == [15.0, -30.0] and c.jain == pytest.approx(625 / 1300)


def test_leader_regret_is_taken_at_the_followers_best_responses():
    """Spec §7: the leader's regret evaluates its posted prices against best responses. A row
    whose learned followers gave the DSO 130 $ (its realized profit above the oracle's 100)
    but whose prices earn 80 $ at best responses (``kpi_best_response_cost`` −80) has a leader
    regret of +20 %, not −30 %; its followers' 40 $ of regret add 40 % to the gap. A row
    without the column keeps its realized profit."""
    frame = pd.DataFrame([
        {**_row("oracle", "2016-01-01", 100.0, 20.0, -500.0, -50.0),
         "kpi_best_response_cost": -100.0},
        {**_row("maddpg", "2016-01-01", 130.0, 0.0, -520.0, -70.0),
         "kpi_best_response_cost": -80.0, "regret_la": 40.0},
        _row("tou", "2016-01-01", 90.0, 10.0, -500.0, -50.0),
    ])  # fmt: skip
    table = game_table(frame).set_index("method")
    assert table.loc["maddpg", "profit_dso"] == pytest.approx(130.0)
    assert table.loc["maddpg", "leader_regret"] == pytest.approx(0.20)
    assert table.loc["maddpg", "stackelberg_gap"] == pytest.approx(0.60)
    assert table.loc["tou", "leader_regret"] == pytest.approx(0.10)
