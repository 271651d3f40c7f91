"""The oracle is a bound (benchmarks/bound_check.py): tiny hand-made rows with exact margins,
the tolerance edges, the certified-bound path, the CLI, and the committed reference store."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from gridbench.benchmarks.bound_check import (
    ORACLE_TOLERANCE_REL,
    ORACLE_TOLERANCE_USD,
    CaseBound,
    Violation,
    check_frame,
    format_case,
    main,
)

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "results" / "reference"
D1, D2, D3 = "2016-01-01", "2016-01-02", "2016-01-03"


def _row(case: str, method: str, family: str, day: str, cost: float, **extra: Any) -> dict:
    return {
        "case": case,
        "method": method,
        "family": family,
        "seed": 0,
        "day": day,
        "budget": "reference",
        "split": "test",
        "status": "ok",
        "feasible": True,
        "cost": cost,
        **extra,
    }


def _tiny() -> pd.DataFrame:
    """Case ``a``: oracle 100 $ on D1 (tolerance max(0.5, 0.01) = 0.5 $) and 100,000 $ on D2
    (tolerance max(0.5, 10) = 10 $). Case ``b``: the oracle's rows carry a certified
    ``certified_bound`` on D1 (98 $ against its cost 100 $), none on D2. Case ``c``: no oracle."""
    a, b = "a-v0", "b-v0"
    nan = math.nan
    return pd.DataFrame(
        [
            _row(a, "oracle", "bound", D1, 100.0, certified_bound=nan),
            _row(a, "oracle", "bound", D2, 100_000.0, certified_bound=nan),
            _row(a, "mpc", "solver", D1, 101.0),  # +1 $, +1 %
            _row(a, "mpc", "solver", D2, 100_010.0),  # +10 $, +0.01 %
            _row(a, "ppo", "rl", D1, 99.5),  # −0.5 $: exactly the absolute tolerance, ok
            _row(a, "ppo", "rl", D1, 99.25, seed=1),  # −0.75 $: beyond 0.5 $
            _row(a, "ppo", "rl", D2, 99_990.0),  # −10 $: exactly the relative tolerance, ok
            _row(a, "ppo", "rl", D2, 99_989.5, seed=1),  # −10.5 $: beyond 10 $
            _row(a, "rule", "baseline", D1, 50.0, feasible=False),  # infeasible: not compared
            _row(a, "mpc", "solver", D3, 1.0),  # no oracle on D3: unmatched
            _row(a, "ppo", "rl", D3, nan, status="timeout", seed=2),  # failed: not compared
            _row(a, "ppo", "rl", D1, 10.0, split="val"),  # no oracle in split val: unmatched
            _row(b, "oracle", "bound", D1, 100.0, certified_bound=98.0),
            _row(b, "oracle", "bound", D2, 200.0, certified_bound=nan),
            _row(b, "mpc", "solver", D1, 99.0),  # +1 $ against the certified 98 $
            _row(b, "mpc", "solver", D2, 199.0),  # −1 $ against the cost 200 $: beyond 0.5 $
            _row("c-v0", "mpc", "solver", D1, 5.0),
        ]
    )


def test_tolerance_is_named_once() -> None:
    assert (ORACLE_TOLERANCE_USD, ORACLE_TOLERANCE_REL) == (0.5, 1e-4)


def test_margins_and_tolerance_edges() -> None:
    a, b, c = check_frame(_tiny())
    assert a == CaseBound(
        case="a-v0",
        worst_margin_usd=-10.5,
        worst_margin_rel=-10.5 / 100_000.0,
        worst_day=D2,
        worst_method="ppo",
        n_compared=6,
        n_certified=0,
        n_unmatched=2,
        violations=(
            Violation(
                "a-v0",
                "test",
                D2,
                "ppo",
                1,
                "reference",
                99_989.5,
                100_000.0,
                -10.5,
                -10.5 / 100_000.0,
                10.0,
            ),
            Violation("a-v0", "test", D1, "ppo", 1, "reference", 99.25, 100.0, -0.75, -0.0075, 0.5),
        ),
    )
    assert not a.ok
    # the certified bound replaces the oracle's cost where it is finite (D1), not elsewhere
    assert (b.worst_margin_usd, b.worst_day, b.n_compared, b.n_certified) == (-1.0, D2, 2, 1)
    assert [(v.day, v.bound, v.margin_usd) for v in b.violations] == [(D2, 200.0, -1.0)]
    assert (c.case, c.worst_day, c.worst_method, c.n_compared, c.n_unmatched) == (
        "c-v0",
        "",
        "",
        0,
        1,
    )
    assert math.isnan(c.worst_margin_usd) and math.isnan(c.worst_margin_rel) and c.ok


def test_certified_bound_clears_a_row_the_cost_would_flag() -> None:
    frame = pd.DataFrame(
        [
            _row("b-v0", "oracle", "bound", D1, 100.0, certified_bound=98.0),
            _row("b-v0", "mpc", "solver", D1, 99.0),
        ]
    )
    (b,) = check_frame(frame)
    assert (b.worst_margin_usd, b.worst_margin_rel, b.ok) == (1.0, 1.0 / 98.0, True)
    (plain,) = check_frame(frame.drop(columns="certified_bound"))
    assert (plain.worst_margin_usd, plain.ok) == (-1.0, False)


def test_rows_whose_followers_are_off_their_best_response_are_counted_not_compared() -> None:
    """A game's oracle bounds the leader only against best-responding followers: a row whose
    followers' regrets sum above 1e-3 $ (learned followers giving the leader money) is not
    compared, however far below the bound; a row at its best responses (2e-6 $) is."""
    frame = pd.DataFrame(
        [
            _row("g-v0", "oracle", "bound", D1, -100.0, regret_la=0.0, regret_ea=0.0),
            _row("g-v0", "maddpg", "rl", D1, -150.0, regret_la=60.0, regret_ea=0.0),
            _row("g-v0", "maddpg", "rl", D1, -101.0, regret_la=0.0005, regret_ea=0.0006, seed=1),
            _row("g-v0", "ppo", "rl", D1, -99.0, regret_la=2e-6, regret_ea=0.0),
        ]
    )
    (g,) = check_frame(frame)
    assert (g.n_compared, g.n_off_best_response, g.worst_method) == (1, 2, "ppo")
    assert g.ok and "2 with followers off their best response not compared" in format_case(g)
    (plain,) = check_frame(frame.drop(columns=["regret_la", "regret_ea"]))
    assert (plain.n_compared, plain.n_off_best_response, plain.ok) == (3, 0, False)


def test_one_line_per_case() -> None:
    a, b, c = check_frame(_tiny())
    assert format_case(a) == (
        "a-v0: worst margin -10.50 $ (-0.0105 %) over 6 rows (ppo on 2016-01-02, 2 without an "
        "oracle row); 2 below the oracle beyond 0.5 $ / 1e-4"
    )
    assert format_case(b) == (
        "b-v0: worst margin -1.00 $ (-0.5 %) over 2 rows (mpc on 2016-01-02); 1 below the "
        "oracle (a certified bound on 1 row) beyond 0.5 $ / 1e-4"
    )
    assert format_case(c) == (
        "c-v0: nothing compared (1 row of deployable methods on days without an oracle row)"
    )


def test_cli_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gridbench.benchmarks.provenance import Provenance
    from gridbench.benchmarks.store import ResultsStore

    assert main(["--results", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: results directory") and err.count("\n") == 1

    store = ResultsStore(tmp_path / "store")
    prov = Provenance.create("a-v0", "mpc", 0)
    store.append(
        [_row("a-v0", "oracle", "bound", D1, 100.0), _row("a-v0", "mpc", "solver", D1, 100.25)],
        provenance=prov,
    )
    assert main(["--results", str(tmp_path / "store")]) == 0
    assert capsys.readouterr().out == (
        "a-v0: worst margin +0.25 $ (+0.25 %) over 1 row (mpc on 2016-01-01); 0 below the "
        "oracle beyond 0.5 $ / 1e-4\n"
    )
    store.append([_row("a-v0", "ppo", "rl", D1, 90.0)], provenance=prov)
    assert main(["--results", str(tmp_path / "store")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("a-v0: worst margin -10.00 $ (-10.00 %)")
    assert out[1] == (
        "  ppo seed 0 on 2016-01-01: 90.00 $ < bound 100.00 $ (-10.00 $, tolerance 0.50 $)"
    )


def _reference_cases() -> list[str]:
    rows = REFERENCE / "rows"
    return sorted(p.name for p in rows.iterdir() if p.is_dir()) if rows.is_dir() else []


@pytest.fixture(scope="module")
def reference_checks() -> dict[str, CaseBound]:
    from gridbench.benchmarks.store import ResultsStore

    return {r.case: r for r in check_frame(ResultsStore(REFERENCE).frame())}


@pytest.mark.parametrize("case_id", _reference_cases())
def test_committed_reference_oracle_is_a_bound(
    case_id: str, reference_checks: dict[str, CaseBound]
) -> None:
    """No deployable row of the committed reference costs less than the oracle on its day
    beyond the oracle's solver tolerance."""
    result = reference_checks[case_id]
    assert result.n_compared > 0, format_case(result)
    assert result.ok, format_case(result)


def test_tighter_tolerance_of_the_convex_oracles() -> None:
    from gridbench.benchmarks.bound_check import tolerance_of
    from gridbench.solvers.planners import BoundTolerance

    # the loss-arbitrage oracle beaten by 0.012 $ (its two-solve fixed point) is caught
    assert tolerance_of("loss-arbitrage-ieee33-v0") == BoundTolerance(1e-3, 1e-6)
    assert tolerance_of("sgls-ieee33-v0") == BoundTolerance(0.5, 1e-4)
    # a case whose oracle states none (or no oracle at all) gets the default
    assert tolerance_of("a-v0") == BoundTolerance(ORACLE_TOLERANCE_USD, ORACLE_TOLERANCE_REL)
    frame = pd.DataFrame(
        [
            _row("loss-arbitrage-ieee33-v0", "oracle", "bound", D1, -195.0),
            _row("loss-arbitrage-ieee33-v0", "mpc", "solver", D1, -195.012),
            _row("loss-arbitrage-ieee33-v0", "mpc", "solver", D2, -1.0),
        ]
    )
    (result,) = check_frame(frame)
    assert [v.margin_usd for v in result.violations] == [pytest.approx(-0.012)]
    assert result.violations[0].tolerance_usd == pytest.approx(1e-3)


def test_rows_off_their_best_response_are_compared_at_their_best_responses() -> None:
    """A row off its followers' best responses with a best-response cost (the leader's cost
    at its posted prices had the followers best-responded) is compared on that: MADDPG's
    realized −150 $ is no violation, its −99 $ at best responses is compared (the worst
    margin +1 $), and a best-response cost of −120 $ below the −100 $ bound is one."""
    rows = [
        _row("g-v0", "oracle", "bound", D1, -100.0, regret_la=0.0, kpi_best_response_cost=-100.0),
        _row("g-v0", "maddpg", "rl", D1, -150.0, regret_la=60.0, kpi_best_response_cost=-99.0),
        _row("g-v0", "maddpg", "rl", D1, -160.0, regret_la=70.0, seed=1),
    ]
    (g,) = check_frame(pd.DataFrame(rows))
    assert (g.n_compared, g.n_at_best_response, g.n_off_best_response) == (1, 1, 1)
    assert (g.worst_margin_usd, g.worst_method, g.ok) == (1.0, "maddpg", True)
    line = format_case(g)
    assert "1 with followers off their best response compared at their best responses" in line
    assert "1 with followers off their best response not compared" in line
    rows[1] = _row("g-v0", "maddpg", "rl", D1, -150.0, regret_la=60.0,
                   kpi_best_response_cost=-120.0)
    (bad,) = check_frame(pd.DataFrame(rows))
    assert not bad.ok and [(v.method, v.cost, v.margin_usd) for v in bad.violations] == [
        ("maddpg", -120.0, -20.0)]
    assert bad.violations[0].at_best_response
