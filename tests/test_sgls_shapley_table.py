"""The precomputed Shapley table of the SGLS cases: read back exactly, keyed by the game."""

from __future__ import annotations

import datetime

import pytest

from gridbench.benchmarks.plugins import load_all
from gridbench.cases.registry import make_case
from gridbench.cases.sgls import shapley, shapley_table

load_all(warn=False)
CASE = "sgls-ieee33-v0"


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """One test day solved into a fresh table directory."""
    directory = tmp_path_factory.mktemp("shapley")
    case = make_case(CASE)
    day = case.days("test")[0]
    assert shapley_table.precompute(CASE, [day], directory=directory) == 1
    return case, day, directory


def test_table_reads_back_what_the_milps_gave(solved):
    case, day, directory = solved
    hit = shapley_table.lookup(case.config, day, directory)
    assert hit is not None
    phi, default, v_all = hit
    direct = shapley.compute_shapley_day(case.config, day)
    assert phi == pytest.approx(direct[0], abs=1e-9)
    assert default == pytest.approx(direct[1], abs=1e-9)
    assert v_all == pytest.approx(direct[2], abs=1e-9)
    # efficiency of the Shapley value survives the round trip
    assert sum(phi.values()) == pytest.approx(v_all, abs=1e-6)


def test_resume_skips_days_in_the_table(solved):
    _case, day, directory = solved
    assert shapley_table.precompute(CASE, [day], directory=directory) == 0


def test_another_game_never_reads_the_table(solved):
    case, day, directory = solved
    other = case.config.model_copy(update={"cost_scale": case.config.cost_scale * 2.0})
    assert shapley_table.table_key(other) != shapley_table.table_key(case.config)
    assert shapley_table.lookup(other, day, directory) is None
    assert shapley_table.lookup(case.config, datetime.date(2015, 1, 1), directory) is None


def test_cli_rejects_a_case_that_is_not_sgls(capsys):
    with pytest.raises(SystemExit) as exc:
        shapley_table.main(["--case", "ses-carbon-ieee33-v0", "--limit", "1"])
    assert exc.value.code == 2
    assert "not an SGLS case" in capsys.readouterr().err
