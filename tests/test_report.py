"""``gridbench report`` on a small store produced here with the harness (2 test days)."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridbench.benchmarks.cli import app

CASE = "ses-carbon-ieee33-v0"
SLUG = "ses_carbon_ieee33_v0"
runner = CliRunner()


def gridbench(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def _write_monitor(path: Path, returns: list[float]) -> None:
    """A Stable-Baselines3 ``Monitor`` log (what rl_agents writes per training run)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ['#{"t_start": 0.0, "env_id": "None"}', "r,l,t"]
    lines += [f"{r},24,{0.1 * (i + 1)}" for i, r in enumerate(returns)]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def env_dirs(tmp_path_factory):
    """Shipped-agent and training directories that hold nothing (the checkout's are ignored)."""
    root = tmp_path_factory.mktemp("rl")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRIDBENCH_AGENTS_DIR", str(root / "agents"))
        mp.setenv("GRIDBENCH_TRAINING_DIR", str(root / "training"))
        yield root


@pytest.fixture(scope="module")
def store(tmp_path_factory, env_dirs) -> tuple[Path, list[str]]:
    from gridbench.benchmarks.harness import run_unit
    from gridbench.benchmarks.plugins import load_all
    from gridbench.benchmarks.store import ResultsStore
    from gridbench.cases.registry import make_case, method_names

    load_all()
    results = tmp_path_factory.mktemp("store") / "runs"
    days = make_case(CASE).days("test")[:2]
    methods = ["idle"] + [m for m in ("rule", "oracle") if m in method_names()]
    assert len(methods) >= 2
    for method in methods:
        unit = run_unit(CASE, method, 0, "quick", "test", days, ResultsStore(results))
        assert unit.error is None and unit.statuses == {"ok": 2}
    # training logs where `gridbench run --results DIR` puts them: DIR/training/...
    for k, method in enumerate(("ddpg", "ddpg-per-or")):
        for seed in (0, 1):
            returns = [-60.0 + (k + 1) * i + seed for i in range(30)]
            _write_monitor(results / "training" / CASE / method / f"seed{seed}" / "monitor.csv",
                           returns)  # fmt: skip
    # a quality-vs-budget curve where budget_curve writes them beside the store
    (results / "curves").mkdir()
    (results / "curves" / f"ppo_{CASE}_seed0.csv").write_text(
        "kind,case,method,steps,seed,fit_s,val_days,val_cost_mean,settings\n"
        f"rl,{CASE},ppo,1000,0,1.0,2,3600.0,{{}}\nrl,{CASE},ppo,3000,0,3.0,2,3400.0,{{}}\n"
        f"idle,{CASE},idle,0,0,0.0,2,3500.0,{{}}\noracle,{CASE},oracle,0,0,0.0,2,3100.0,{{}}\n"
        "rl,other-case-v0,ppo,1000,0,1.0,2,1.0,{}\n"
    )
    return results, methods


class _Balance(HTMLParser):
    """Checks that every non-void tag is closed in order."""

    VOID = frozenset({"meta", "img", "br", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.imgs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs)["src"])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()


def test_report_has_leaderboard_figures_and_html(store, tmp_path):
    results, methods = store
    out = tmp_path / "report"
    run = gridbench("report", "--results", results, "--out", out)
    assert run.exit_code == 0, run.output
    md = (out / "report.md").read_text()
    page = (out / "report.html").read_text()

    # the leaderboard rows, one per method
    rows = [ln for ln in md.splitlines() if ln.startswith("| ")]
    for method in methods:
        assert any(f"| {method} |" in ln for ln in rows), method
    assert re.search(r"\| — \| oracle \| bound \|", md) or "oracle" not in methods
    # compute: the act time, the plan per day and both amortized over the decisions
    header = next(ln for ln in rows if ln.startswith("| rank |"))
    assert "| decide ms p50 | plan ms | ms/decision incl. plan |" in header
    assert "#### Cost vs compute per decision (plan included)" in md

    # the figures, linked and present
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    expected = {f"{SLUG}_{n}.png" for n in ("cost_vs_decision_time", "carbon_intensity", "soc",
                                              "training", "budget_curve")}  # fmt: skip
    assert set(links) == expected
    for name in links:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000

    # well-formed enough HTML: a table, the images, every tag closed
    assert page.startswith("<!DOCTYPE html>") and "<table>" in page and "</table>" in page
    parser = _Balance()
    parser.feed(page)
    assert parser.errors == [] and parser.stack == []
    assert set(parser.imgs) == expected
    for method in methods:
        assert f"<td>{method}</td>" in page

    # what is missing is listed instead of failing
    missing = md.split("## Missing", 1)[1]
    assert "no RL rows yet" in missing
    assert "registered methods without rows" in missing
    assert "no ddpg training curves" not in missing  # both training logs were found


def test_report_notes_missing_agents_and_training_logs(store, tmp_path):
    from gridbench.benchmarks.store import ResultsStore

    results, _ = store
    copy = tmp_path / "runs"
    shutil.copytree(results, copy, ignore=shutil.ignore_patterns("training"))
    # an RL row whose agent is neither shipped nor trained: skipped in the figures, with a note
    frame = ResultsStore(copy).frame(method="idle")
    row = {k: v for k, v in frame.iloc[0].to_dict().items() if v == v}  # drop NaN
    row.update(method="ddpg", family="rl", run_id=str(row["run_id"]).replace("idle", "ddpg"))
    ResultsStore(copy).append([row])
    out = tmp_path / "report"
    run = gridbench("report", "--results", copy, "--out", out)
    assert run.exit_code == 0, run.output
    md = (out / "report.md").read_text()
    missing = md.split("## Missing", 1)[1]
    assert "ddpg skipped in the figures: no shipped or trained agent" in missing
    assert "no ddpg training curves" in missing
    # ddpg-per-or has no row and no run in the results: the report does not look for it
    assert "ddpg-per-or training curves" not in missing
    assert "no RL rows yet" not in missing
    assert "| ddpg | rl |" in md
    assert not (out / f"{SLUG}_training.png").exists()
    assert (out / f"{SLUG}_soc.png").exists()


def test_report_replaces_an_old_report_atomically(store, tmp_path):
    results, _ = store
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.md").write_text("old")
    (out / "stale.png").write_bytes(b"x")
    (out / ".gridbench-report").write_text("written by gridbench report\n")  # first format
    run = gridbench("report", "--results", results, "--out", out)
    assert run.exit_code == 0, run.output
    assert (out / "report.md").read_text().startswith("# gridbench report")
    assert not (out / "stale.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no temp dirs left
    manifest = json.loads((out / ".gridbench-report").read_text())
    assert sorted(manifest["files"]) == sorted(p.name for p in out.iterdir() if p.name[0] != ".")
    again = gridbench("report", "--results", results, "--out", out)  # its own report: replaced
    assert again.exit_code == 0, again.output


def test_report_never_deletes_files_it_did_not_write(store, tmp_path):
    """A directory holding a report plus a user's file is refused, the file kept (it used to
    be replaced whole because it held a report.md)."""
    results, _ = store
    for name, marker in (("plain", None), ("legacy", "written by gridbench report\n")):
        out = tmp_path / name
        out.mkdir()
        (out / "report.md").write_text("a")
        (out / "thesis.tex").write_text("precious")
        if marker:
            (out / ".gridbench-report").write_text(marker)
        run = gridbench("report", "--results", results, "--out", out)
        assert run.exit_code == 2, run.output
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert (out / "thesis.tex").read_text() == "precious"
        assert (out / "report.md").read_text() == "a"
    made = tmp_path / "made"
    assert gridbench("report", "--results", results, "--out", made).exit_code == 0
    (made / "thesis.tex").write_text("precious")  # a user's file added to a real report
    run = gridbench("report", "--results", results, "--out", made)
    assert run.exit_code == 2 and "thesis.tex" in run.stderr, run.output
    assert (made / "thesis.tex").read_text() == "precious"


def test_report_user_errors(store, tmp_path):
    results, _ = store
    empty = tmp_path / "empty"
    empty.mkdir()
    a_file = tmp_path / "file"
    a_file.write_text("x")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    cases = [
        (("--results", tmp_path / "nope"), "does not exist"),
        (("--results", empty), "holds no result rows"),
        (("--results", a_file), "is a file"),
        (("--results", results, "--out", foreign), "not a gridbench report directory"),
        (("--results", results, "--out", a_file), "is a file"),
    ]
    for args, message in cases:
        run = gridbench("report", *args)
        assert run.exit_code == 2, (args, run.output)
        assert message in run.stderr, (args, run.stderr)
        assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "file", "mine"]
    assert list(empty.iterdir()) == []


def test_best_rl_summary_states_the_gap_with_its_interval():
    from gridbench.benchmarks.report import best_rl_summary

    entries = [
        {"method": "mpc", "family": "solver", "gap": 0.001, "n_seeds": 1, "n_days": 3},
        {"method": "sac", "family": "rl", "budget": "reference", "gap": 0.0841,
         "gap_lo": 0.0676, "gap_hi": 0.0911, "n_seeds": 5, "n_days": 73, "feasible_frac": 1.0},
        {"method": "ddpg", "family": "rl", "gap": 0.5, "n_seeds": 5, "n_days": 73},
        {"method": "oracle", "family": "bound", "gap": 0.0, "n_seeds": 1, "n_days": 73},
    ]  # fmt: skip
    assert best_rl_summary(entries) == (
        "Best RL agent: sac (budget reference), gap to the oracle +8.41 % [95 % CI +6.76, "
        "+9.11] (IQM over 5 seed(s) of the per-seed mean over 73 day(s); within limits on "
        "100 % of its days)."
    )
    assert best_rl_summary([e for e in entries if e["family"] != "rl"]) is None
    assert best_rl_summary([{**entries[1], "gap": None}]) is None


def test_cost_vs_decision_time_places_methods_at_compute_per_decision_with_the_plan(tmp_path):
    """x = compute_ms_per_decision (plan + every act, per decision), not the median act: the
    day-ahead planner's 300 ms plan over 24 decisions puts it at 12.5 ms, not 0.003 ms."""
    import pandas as pd

    from gridbench.benchmarks.report import ReportContext, cost_vs_decision_time

    class Spy(ReportContext):
        def save(self, fig, name, title, caption):
            self.fig = fig
            return super().save(fig, name, title, caption)

    def entry(method, family, p50, amortized):
        return {"case": "demo-v0", "method": method, "family": family, "cost": 100.0,
                "cost_lo": 99.0, "cost_hi": 101.0, "decision_ms_p50": p50,
                "compute_ms_per_decision": amortized}  # fmt: skip

    entries = [entry("day-ahead", "solver", 0.003, 12.5), entry("ppo", "rl", 0.2, 0.25),
               entry("timeless", "rl", 0.2, None)]  # fmt: skip
    ctx = Spy(tmp_path, pd.DataFrame(), entries, tmp_path, ())
    (figure,) = cost_vs_decision_time(ctx, "demo-v0")
    (ax,) = ctx.fig.axes
    xs = {c.get_label(): float(c.lines[0].get_xdata()[0]) for c in ax.containers}
    assert xs == {"day-ahead (solver)": 12.5, "ppo (rl)": 0.25}
    assert ctx.notes["demo-v0"] == [
        "timeless left out of the cost-vs-time scatter (no cost/time)"]  # fmt: skip
    assert "including the plan" in figure.caption and "amortized" in figure.caption
    assert "compute_ms_per_decision" in figure.caption
    assert ax.get_xlabel() == "compute per decision incl. the plan, ms (log)"
