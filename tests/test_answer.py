"""The answer (benchmarks/answer.py): best solver and RL agent per case, their gaps, the days
on which RL beats the solver, the generated verdicts, the README block and the report."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from gridbench.benchmarks.answer import (
    DAY_STATISTIC,
    END_MARKER,
    HEADING,
    START_MARKER,
    Outcome,
    build_answer,
    main,
    render_html,
    render_markdown,
    replace_block,
)
from gridbench.benchmarks.leaderboard import build

D1, D2, D3 = "2016-01-01", "2016-01-02", "2016-01-03"

#: Day costs per (method, family, seed). Oracle 100, 200, 100 $. mpc: 2 % above it every
#: day. ppo, three seeds: D1 100, 101, 106 (mean 102.33 ≥ mpc's 102: no win, though the
#: median 101 would win), D2 190, 200, 210 (mean 200 < 204: a win), D3 120 (a loss); per-seed
#: mean gaps (0 − 0.05 + 0.2) / 3, (0.01 + 0 + 0.2) / 3, (0.06 + 0.05 + 0.2) / 3, all above
#: mpc's 0.02, so programming wins whatever the bootstrap draws; IQM of 3 = their mean 0.67/9.
COSTS: dict[tuple[str, str, int], tuple[float, ...]] = {
    ("oracle", "bound", 0): (100.0, 200.0, 100.0),
    ("mpc", "solver", 0): (102.0, 204.0, 102.0),
    ("day-ahead", "solver", 0): (110.0, 220.0, 110.0),
    ("scenario", "solver", 0): (100.5,),  # cheapest, but only D1: incomplete, never "best"
    ("ppo", "rl", 0): (100.0, 190.0, 120.0),
    ("ppo", "rl", 1): (101.0, 200.0, 120.0),
    ("ppo", "rl", 2): (106.0, 210.0, 120.0),
}


def _frame(case: str = "t-v0") -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for (method, family, seed), costs in COSTS.items():
        for day, cost in zip((D1, D2, D3), costs, strict=False):
            rows.append(
                {
                    "case": case,
                    "method": method,
                    "family": family,
                    "seed": seed,
                    "day": day,
                    "budget": "reference",
                    "split": "test",
                    "status": "ok",
                    "feasible": True,
                    "cost": cost,
                    "solve_s": 0.012 if family == "solver" else 0.0,
                    "decide_s": 0.012,
                    "n_steps": 24,
                }
            )
    return pd.DataFrame(rows)


def _entry(case: str, method: str, family: str, gap: float, lo: float, hi: float, **kw: Any):
    return {
        "case": case,
        "method": method,
        "family": family,
        "n_seeds": 3 if family == "rl" else 1,
        "n_days": 3,
        "feasible": True,
        "complete": True,
        "cost": 100.0 * (1.0 + gap),
        "cost_lo": 100.0 * (1.0 + lo),
        "cost_hi": 100.0 * (1.0 + hi),
        "gap": gap,
        "gap_lo": lo,
        "gap_hi": hi,
        "budget": "reference",
        "split": "test",
        "compute_ms_per_decision": 50.0 if family == "solver" else 0.25,
        **kw,
    }


def test_day_statistic_is_the_mean() -> None:
    assert DAY_STATISTIC == "mean"


def test_through_the_leaderboard_exact_gaps_and_days() -> None:
    frame = _frame()
    (a,) = build_answer(frame, build(frame)).cases
    assert a.solver is not None and a.rl is not None
    assert (a.solver.method, a.rl.method) == ("mpc", "ppo")  # scenario is incomplete
    assert a.solver.gap == pytest.approx(0.02, abs=1e-15)
    assert (a.solver.gap_lo, a.solver.gap_hi) == (a.solver.gap, a.solver.gap)  # one seed
    assert a.rl.gap == pytest.approx(0.67 / 9.0, abs=1e-15)
    assert 0.05 - 1e-12 <= a.rl.gap_lo <= a.rl.gap <= a.rl.gap_hi <= 0.31 / 3.0 + 1e-12
    # compute per decision derived from the rows: 1000 (solve_s + decide_s) / n_steps
    assert a.solver.compute_ms == pytest.approx(1.0) and a.rl.compute_ms == pytest.approx(0.5)
    assert (a.rl_wins, a.days_compared, a.rl_share) == (1, 3, 1.0 / 3.0)  # D2 only
    assert (a.outcome, a.basis) == (Outcome.PROGRAMMING, "gap")


def test_hand_made_entries_exact_sentences() -> None:
    frame = pd.concat([_frame("t-v0"), _frame("u-v0")], ignore_index=True)
    entries = [
        _entry("t-v0", "mpc", "solver", 0.02, 0.02, 0.02),
        _entry("t-v0", "day-ahead", "solver", 0.1, 0.1, 0.1),
        _entry("t-v0", "greedy", "solver", -0.5, -0.5, -0.5, feasible=False),  # infeasible
        _entry("t-v0", "scenario", "solver", 0.005, 0.005, 0.005, complete=False),
        _entry("t-v0", "ppo", "rl", 0.67 / 9.0, 0.05, 0.31 / 3.0),
        _entry("t-v0", "sac", "rl", 0.5, 0.4, 0.6),
        _entry("t-v0", "oracle", "bound", 0.0, 0.0, 0.0),
        _entry("u-v0", "mpc", "solver", 0.02, 0.02, 0.02),
        _entry("u-v0", "ppo", "rl", 0.01, 0.005, 0.015),
        _entry("v-v0", "mpc", "solver", -0.0000048, -0.0000048, -0.0000048),
    ]
    answer = build_answer(frame, entries)
    t, u, v = answer.cases
    assert [c.outcome for c in answer.cases] == [Outcome.PROGRAMMING, Outcome.RL, Outcome.NO_RL]
    assert t.sentence == (
        "On t-v0 programming wins: mpc is 2.00 % above the oracle [2.00, 2.00], the best RL "
        "agent ppo 7.44 % above it [5.00, 10.3]; RL beats mpc on 1 of 3 days, at 0.25 ms per "
        "decision against 50 ms."
    )
    assert u.sentence == (
        "On u-v0 RL wins: mpc is 2.00 % above the oracle [2.00, 2.00], the best RL agent ppo "
        "1.00 % above it [0.500, 1.50]; RL beats mpc on 1 of 3 days, at 0.25 ms per decision "
        "against 50 ms."
    )
    assert v.sentence == (
        "On v-v0 only programming has results: mpc is 0.0005 % below the oracle [-0.0005, "
        "-0.0005]; no complete RL agent."
    )
    assert (v.rl_wins, v.days_compared) == (0, 0) and math.isnan(v.rl_share)
    assert answer.overall == (
        "Over 3 cases programming wins on 1 (t-v0), RL on 1 (u-v0) and neither clearly on 0; "
        "1 lacks a complete solver or RL agent (v-v0); the best RL agent beats the best solver "
        "on 2 of 6 case-days (33.3 %)."
    )


def test_overlapping_intervals_and_no_oracle() -> None:
    frame = _frame()
    nan = math.nan
    entries = [
        _entry("t-v0", "mpc", "solver", 0.02, 0.02, 0.02),
        _entry("t-v0", "ppo", "rl", 0.03, 0.01, 0.05),
    ]
    (a,) = build_answer(frame, entries).cases
    assert a.outcome is Outcome.NEITHER
    assert a.sentence.startswith("On t-v0 neither wins clearly (the 95 % intervals overlap):")
    no_oracle = [
        {**_entry("t-v0", "mpc", "solver", 0.0, 0.0, 0.0), "gap": nan, "gap_lo": nan,
         "gap_hi": nan, "cost": 136.0, "cost_lo": 136.0, "cost_hi": 136.0},
        {**_entry("t-v0", "ppo", "rl", 0.0, 0.0, 0.0), "gap": nan, "gap_lo": nan,
         "gap_hi": nan, "cost": 150.0, "cost_lo": 140.0, "cost_hi": 160.0},
    ]  # fmt: skip
    (b,) = build_answer(frame, no_oracle).cases
    assert (b.outcome, b.basis) == (Outcome.PROGRAMMING, "cost")
    assert b.sentence.startswith(
        "On t-v0 programming wins: mpc costs 136 $ [136, 136], the best RL agent ppo 150 $ "
        "[140, 160]; RL beats mpc on 1 of 3 days"
    )


def test_markdown_table_and_html() -> None:
    answer = build_answer(_frame(), [
        _entry("t-v0", "mpc", "solver", 0.02, 0.02, 0.02),
        _entry("t-v0", "ppo", "rl", 0.67 / 9.0, 0.05, 0.31 / 3.0),
    ])  # fmt: skip
    md = render_markdown(answer)
    lines = md.splitlines()
    assert lines[0] == f"## {HEADING}"
    assert lines[2] == f"**{answer.overall}**"
    assert lines[6] == (
        "| t-v0 | mpc | +2.00 % [+2.00, +2.00] | 50 ms | ppo | +7.44 % [+5.00, +10.3] | "
        "0.25 ms | 1 / 3 (33 %) | programming |"
    )
    assert lines[8] == f"- {answer.cases[0].sentence}"
    assert not render_markdown(answer, heading=None).startswith("#")
    page = render_html(answer)
    assert page.startswith(f"<h2>{HEADING}</h2>") and "<td>1 / 3 (33 %)</td>" in page


def test_report_opens_with_the_answer() -> None:
    from gridbench.benchmarks.report import render_html_report, render_markdown_report

    answer = build_answer(_frame(), [
        _entry("t-v0", "mpc", "solver", 0.02, 0.02, 0.02),
        _entry("t-v0", "ppo", "rl", 0.67 / 9.0, 0.05, 0.31 / 3.0),
    ])  # fmt: skip
    md = render_markdown_report({"rows": "21"}, [], {}, render_markdown(answer))
    assert md.startswith(f"# gridbench report\n\n## {HEADING}\n")
    assert md.index(HEADING) < md.index("- rows: 21")
    page = render_html_report({"rows": "21"}, [], {}, render_html(answer))
    assert page.index("<h1>gridbench report</h1>") < page.index(HEADING) < page.index("rows: 21")


README = (
    f"# x\n\nFirst paragraph.\n\n## The answer so far\n\n{START_MARKER}\nold\n{END_MARKER}\n\n"
    "rest\n"
)


def test_readme_block_is_replaced_idempotently() -> None:
    once = replace_block(README, "new table\n")
    assert once == (
        f"# x\n\nFirst paragraph.\n\n## The answer so far\n\n{START_MARKER}\nnew table\n"
        f"{END_MARKER}\n\nrest\n"
    )
    assert replace_block(once, "new table\n") == once


@pytest.mark.parametrize(
    "text",
    ["# x\nno markers\n", f"# x\n{START_MARKER}\n", f"{END_MARKER}\n{START_MARKER}\n",
     f"{START_MARKER}\n{END_MARKER}\n{START_MARKER}\n{END_MARKER}\n"],
)  # fmt: skip
def test_readme_without_markers_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="answer:start") as info:
        replace_block(text, "table")
    assert "\n" not in str(info.value)


def test_cli_writes_readme_once_and_refuses_without_markers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gridbench.benchmarks.provenance import Provenance
    from gridbench.benchmarks.store import ResultsStore

    store = tmp_path / "store"
    rows = _frame().to_dict("records")
    ResultsStore(store).append(rows, provenance=Provenance.create("t-v0", "all", 0))
    readme = tmp_path / "README.md"
    readme.write_text(README)
    assert main(["--results", str(store), "--readme", str(readme)]) == 0
    printed = capsys.readouterr().out
    text = readme.read_text()
    assert printed.splitlines()[4].startswith("| t-v0 | mpc | +2.00 % [+2.00, +2.00] |")
    assert printed.strip() in text and text.endswith(f"{END_MARKER}\n\nrest\n")
    assert main(["--results", str(store), "--readme", str(readme)]) == 0
    assert readme.read_text() == text  # idempotent

    bare = tmp_path / "BARE.md"
    bare.write_text("# x\nno markers\n")
    assert main(["--results", str(store), "--readme", str(bare)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "answer:start" in err
    assert bare.read_text() == "# x\nno markers\n"
    assert main(["--results", str(tmp_path / "missing")]) == 2
