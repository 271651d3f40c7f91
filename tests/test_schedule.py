"""``gridbench schedule``: the exported schedule re-simulated in pandapower reproduces the cost.

The round trip uses only the CSV, the sidecar JSON and pandapower (the feeder built with
``RadialFeeder.to_pandapower``); the cost formulas are written out here, not imported from
gridbench's accounting.
"""

from __future__ import annotations

import csv
import json
import math
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gridbench.benchmarks.cli import app
from gridbench.benchmarks.schedule import ELEMENT_KINDS, SCHEDULE_COLUMNS

CASE = "ses-carbon-ieee33-v0"
DAY = "test:3"
runner = CliRunner()


def gridbench(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def _day_iso() -> str:
    from gridbench.cases.registry import make_case

    return make_case(CASE).days("test")[3].isoformat()


def _available_methods() -> set[str]:
    out = gridbench("methods", "--case", CASE, "--json")
    assert out.exit_code == 0, out.output
    return {m["name"] for m in json.loads(out.stdout)}


@pytest.fixture(scope="module")
def methods() -> list[str]:
    names = _available_methods()
    chosen = ["idle"]
    chosen += [m for m in ("rule", "oracle") if m in names]
    assert len(chosen) >= 2, f"need idle and rule or oracle; registered: {sorted(names)}"
    return chosen


@pytest.fixture(scope="module")
def exported(tmp_path_factory, methods) -> dict[str, tuple[list[dict[str, str]], dict]]:
    out_dir = tmp_path_factory.mktemp("schedules")
    result = {}
    for method in methods:
        out = out_dir / f"{method}.csv"
        run = gridbench("schedule", "--case", CASE, "--method", method, "--day", DAY, "--out", out)
        assert run.exit_code == 0, run.output
        with out.open(newline="") as handle:
            reader = csv.DictReader(handle)
            assert tuple(reader.fieldnames or ()) == SCHEDULE_COLUMNS
            rows = list(reader)
        sidecar = json.loads(out.with_suffix(".json").read_text())
        result[method] = (rows, sidecar)
    return result


# --------------------------------------------------------------------------- re-simulation


def _ladder_cost(x: float, base: float, step: float, growth: float, tiers: int) -> float:
    """Eq (14) with the first tier extended below 0: slope (1 + kλ)ε on tier k."""
    cost = base * x
    for k in range(1, tiers):
        cost += growth * base * max(x - k * step, 0.0)
    return cost


def _resimulate(rows: list[dict[str, str]], sidecar: dict) -> dict[str, float]:
    """Day cost and emissions from the CSV + sidecar + pandapower only."""
    import pandapower as pp

    from gridbench.cases.grid import load_grid

    params = sidecar["parameters"]
    grid = params["grid"]
    feeder = load_grid(grid["name"])
    # the sidecar's branch data are the feeder's: nothing else is needed to rebuild the net
    branches = grid["branches"]
    np.testing.assert_array_equal(np.asarray(branches["from_bus"]) - 1, feeder.from_bus)
    np.testing.assert_array_equal(np.asarray(branches["to_bus"]) - 1, feeder.to_bus)
    np.testing.assert_allclose(branches["r_ohm"], feeder.r_ohm)
    np.testing.assert_allclose(branches["x_ohm"], feeder.x_ohm)
    assert grid["base_kv"] == feeder.base_kv

    dt = float(sidecar["step_hours"])
    price = params["series"]["price_usd_per_mwh"]
    upstream = params["series"]["upstream_carbon_intensity_t_per_mwh"]
    gt = params["gas_turbine"]
    storage = params["storage"]
    market = params["carbon_market"]
    v_slack = params["network"]["v_slack_pu"]

    by_step: dict[int, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        by_step[int(r["step"])].append(r)
    assert sorted(by_step) == list(range(sidecar["n_steps"]))

    # the net of RadialFeeder.to_pandapower; load k sits at bus k + 1, so each hour only
    # rewrites the load columns (building a net costs 10x a power flow)
    net = feeder.to_pandapower()
    net.ext_grid["vm_pu"] = v_slack
    purchase = fuel = degradation = emissions = served = 0.0
    slack_gap = v_gap = 0.0
    for t, step_rows in sorted(by_step.items()):
        p_bus = np.zeros(feeder.n_bus)
        q_bus = np.zeros(feeder.n_bus)
        grid_rows = [r for r in step_rows if r["kind"] == "grid"]
        assert len(grid_rows) == 1 and int(grid_rows[0]["bus"]) == 1
        for r in step_rows:
            assert r["kind"] in ELEMENT_KINDS
            if r["kind"] == "grid":
                continue
            p_bus[int(r["bus"]) - 1] -= float(r["p_mw"])
            q_bus[int(r["bus"]) - 1] -= float(r["q_mvar"])
        net.load["p_mw"] = p_bus[net.load.bus.to_numpy()]
        net.load["q_mvar"] = q_bus[net.load.bus.to_numpy()]
        pp.runpp(net, tolerance_mva=1e-10, numba=False)
        p_slack = float(net.res_ext_grid.p_mw.iloc[0])
        slack_gap = max(slack_gap, abs(p_slack - float(grid_rows[0]["p_mw"])))
        v_gap = max(v_gap, abs(float(net.res_bus.vm_pu.min()) - sidecar["steps"][t]["v_min_pu"]))

        p_gt = [float(r["p_mw"]) for r in step_rows if r["kind"] == "gas_turbine"]
        p_st = [float(r["p_mw"]) for r in step_rows if r["kind"] == "storage"]
        load = -sum(float(r["p_mw"]) for r in step_rows if r["kind"] == "load")
        purchase += price[t] * p_slack * dt
        fuel += (
            sum(
                gt["cost_a_usd_per_mw2h"] * p * p
                + gt["cost_b_usd_per_mwh"] * p
                + gt["cost_c_usd_per_h"]
                for p in p_gt
            )
            * dt
        )
        degradation += storage["degradation_usd_per_mwh"] * sum(abs(p) for p in p_st) * dt
        emissions += (max(p_slack, 0.0) * upstream[t] + sum(p_gt) * gt["carbon_t_per_mwh"]) * dt
        served += load * dt

    # terminal energy settlement: the energy below the day's start bought back at π_T (a
    # surplus credited), from the storages' SOC after the last step
    last = by_step[max(by_step)]
    end_mwh = [float(r["soc"]) * storage["energy_mwh"] for r in last if r["kind"] == "storage"]
    assert len(end_mwh) == len(storage["energy_start_mwh"]) == len(storage["buses"])
    terminal = storage["terminal_price_usd_per_mwh"] * sum(
        e0 - e for e0, e in zip(storage["energy_start_mwh"], end_mwh, strict=True)
    )

    net_t = emissions - market["allowance_t_per_mwh"] * served
    carbon = _ladder_cost(
        net_t,
        market["base_price_usd_per_t"],
        market["step_t"],
        market["growth_rate"],
        market["n_tiers"],
    )
    return {
        "cost": purchase + fuel + degradation + carbon + terminal,
        "terminal": terminal,
        "emissions_t": emissions,
        "slack_gap_mw": slack_gap,
        "v_gap_pu": v_gap,
    }


def test_schedule_resimulated_in_pandapower_matches_the_harness_cost(exported, methods):
    from gridbench.benchmarks.harness import evaluate_day
    from gridbench.benchmarks.plugins import load_all
    from gridbench.cases.registry import get_method, make_case

    load_all()
    case = make_case(CASE)
    costs = {}
    for method in methods:
        rows, sidecar = exported[method]
        assert sidecar["case"] == CASE and sidecar["method"] == method
        assert sidecar["kpis"]["status"] == "ok"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mine = _resimulate(rows, sidecar)
        # the power flows agree (pandapower's Newton-Raphson vs the referee's sweep)
        assert mine["slack_gap_mw"] < 1e-5, method
        assert mine["v_gap_pu"] < 1e-6, method
        # the harness's cost, as stored in the sidecar and from an independent roll-out
        impl = get_method(method).make()
        impl.fit(case, 0, "quick")
        harness = evaluate_day(case, impl, DAY, 0)
        assert sidecar["kpis"]["cost"] == pytest.approx(harness["cost"], rel=1e-9)
        assert mine["cost"] == pytest.approx(harness["cost"], rel=1e-3), method
        assert mine["emissions_t"] == pytest.approx(harness["emissions_t"], rel=1e-3), method
        assert mine["terminal"] == pytest.approx(
            harness["cost_storage_terminal_energy"], abs=1e-3
        ), method
        costs[method] = mine["cost"]
    # the dispatch matters: some method other than idle changes the cost
    assert any(
        not math.isclose(c, costs["idle"], rel_tol=1e-6) for m, c in costs.items() if m != "idle"
    )


def test_schedule_rows_and_sidecar_layout(exported):
    rows, sidecar = exported["idle"]
    n_steps = sidecar["n_steps"]
    day = _day_iso()
    assert n_steps == 24 and sidecar["step_hours"] == 1.0 and sidecar["day"] == day
    kinds = {r["kind"] for r in rows}
    assert kinds == {"load", "pv", "gas_turbine", "storage", "grid"}
    per_step = len(rows) // n_steps
    assert len(rows) == per_step * n_steps == (32 + 5 + 3 + 5 + 1) * 24
    assert rows[0]["time"] == f"{day}T00:00:00" and rows[-1]["time"] == f"{day}T23:00:00"
    assert all(float(r["p_mw"]) <= 0.0 for r in rows if r["kind"] == "load")
    storage = [r for r in rows if r["kind"] == "storage"]
    assert all(0.0 <= float(r["soc"]) <= 1.0 for r in storage)
    assert all(r["soc"] == "" for r in rows if r["kind"] != "storage")
    # idle: every setpoint 0, the SOC stays put
    assert all(float(r["p_mw"]) == 0.0 for r in rows if r["kind"] in ("storage", "gas_turbine"))
    assert {float(r["soc"]) for r in storage} == {sidecar["parameters"]["storage"]["soc_init"]}
    params = sidecar["parameters"]
    assert len(params["series"]["price_usd_per_mwh"]) == n_steps
    assert len(params["series"]["upstream_carbon_intensity_t_per_mwh"]) == n_steps
    for key in ("tariff", "gas_turbine", "storage", "carbon_market", "network", "grid"):
        assert key in params
    assert {"v_min_pu", "v_max_pu", "v_slack_pu"} <= params["network"].keys()
    assert {"eta_charge", "eta_discharge", "energy_mwh"} <= params["storage"].keys()
    assert {"energy_start_mwh", "terminal_price_usd_per_mwh"} <= params["storage"].keys()
    assert "storage_terminal_energy" in params["cost_terms"]
    assert len(sidecar["steps"]) == n_steps
    kpis = sidecar["kpis"]
    assert {"cost", "emissions_t", "feasible", "decision_ms_p50"} <= kpis.keys()
    step_cost = sum(sum(s["cost"].values()) for s in sidecar["steps"])
    assert step_cost == pytest.approx(kpis["cost"], rel=1e-9)


def test_existing_schedule_is_replaced_atomically(tmp_path):
    out = tmp_path / "s.csv"
    out.write_text("old\n")
    run = gridbench("schedule", "--case", CASE, "--method", "idle", "--day", "2016-01-14",
                    "--out", out)  # fmt: skip
    assert run.exit_code == 0, run.output
    assert out.read_text().startswith(",".join(SCHEDULE_COLUMNS))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv", "s.json"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--case", "ses-carbon-ieee33-v9", "--method", "idle", "--day", "test:0"),
         "unknown case 'ses-carbon-ieee33-v9'"),
        (("--case", CASE, "--method", "idel", "--day", "test:0"), "unknown method 'idel'"),
        (("--case", CASE, "--method", "idle", "--day", "2016-13-01"), "neither an ISO date"),
        (("--case", CASE, "--method", "idle", "--day", "test:999"), "valid K: 0.."),
        (("--case", CASE, "--method", "idle", "--day", "1999-01-01"), "cannot simulate it"),
        (("--case", CASE, "--method", "idle", "--day", "test:0", "--seed", "-1"), ">= 0"),
        (("--case", CASE, "--method", "idle", "--day", "test:0", "--budget", "huge"), "huge"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "s.csv"
    run = gridbench("schedule", *args, "--out", out)
    assert run.exit_code == 2, run.output
    assert message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("out", ["s.txt", "a_file/s.csv"])
def test_bad_out_path_is_one_line_exit_2(tmp_path, out):
    if out.startswith("a_file/"):
        (tmp_path / "a_file").write_text("x")  # a directory that cannot be made
    run = gridbench("schedule", "--case", CASE, "--method", "idle", "--day", "test:0",
                    "--out", tmp_path / out)  # fmt: skip
    assert run.exit_code == 2, run.output
    assert "--out" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == (["a_file"] if "a_file" in out else [])


def test_out_directory_is_made_like_report_out(tmp_path):
    out = tmp_path / "new" / "dir" / "s.csv"
    run = gridbench("schedule", "--case", CASE, "--method", "idle", "--day", "test:0",
                    "--out", out)  # fmt: skip
    assert run.exit_code == 0, run.output
    assert out.is_file() and out.with_suffix(".json").is_file()
