"""Reliability drills: never delete a user's files, never hang, never show a traceback for a
user's or a plugin's mistake, and never rank a broken method.

Every drill runs on the TEST-ONLY toy case (``tests/toy_case.py``) with a 2-day smoke store,
in-process through the CLI (``typer``'s runner: the same ``main`` the console script calls)
or, where a process boundary matters (Ctrl-C, usage errors of the installed script), in a
fresh interpreter.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import toy_case
from toy_case import CASE_ID
from typer.testing import CliRunner

from gridbench.benchmarks.cli import app
from gridbench.benchmarks.executors import LocalExecutor, TimeLimits
from gridbench.benchmarks.harness import make_task
from gridbench.benchmarks.plugins import load_all
from gridbench.benchmarks.store import ResultsStore
from gridbench.cases import registry

runner = CliRunner()
TESTS = Path(__file__).resolve().parent

# Fill the built-in registries outside any sandbox first: a case package imported for the
# first time inside ``registry.sandbox()`` (the toys) would lose its registration when the
# sandbox ends, and later test modules would find no built-in case.
load_all(warn=False)


def gridbench(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def toys():
    with toy_case.registered():
        yield


def _run_args(results: Path, *methods: str, days: int = 2, seeds: int = 1, extra=()):
    args: list[str | Path] = ["run", "--case", CASE_ID, "--seeds", str(seeds), "--days", str(days)]
    for m in methods:
        args += ["--method", m]
    return [*args, "--budget", "smoke", "--workers", "1", "--results", results,
            "--no-progress", *extra]  # fmt: skip


@pytest.fixture(scope="module")
def smoke_store(tmp_path_factory):
    """``S``: idle and the oracle on 2 toy days (built once, copied by the drills)."""
    results = tmp_path_factory.mktemp("smoke") / "S"
    with toy_case.registered():
        out = gridbench(*_run_args(results, "idle", "oracle"))
    assert out.exit_code == 0, out.output
    return results


def _snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` (hidden ones too) with a hash of its bytes."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _damage(store: Path, kind: str) -> Path:
    """Put one damaged row file of ``kind`` into ``store``; return it."""
    target = store / "rows" / CASE_ID / "idle" / f"s9-smoke-{kind}.parquet"
    if kind == "garbage":
        target.write_bytes(b"this is not parquet")
    elif kind == "empty":
        target.write_bytes(b"")
    elif kind == "truncated":
        good = next((store / "rows" / CASE_ID / "idle").glob("*.parquet")).read_bytes()
        target.write_bytes(good[: len(good) // 2])
    elif kind == "foreign":
        pq.write_table(pa.table({"x": [1, 2], "y": ["a", "b"]}), target)
    elif kind == "keytype":
        pq.write_table(
            pa.table(
                {
                    "case": [CASE_ID],
                    "method": ["idle"],
                    "seed": ["zero"],
                    "day": ["2016-07-09"],
                    "budget": ["smoke"],
                }
            ),
            target,
        )
    else:  # pragma: no cover
        raise AssertionError(kind)
    return target


# --------------------------------------------------------------------------- bad inputs

# (args, text in the error line); {S}: a copy of the smoke store, {F}: a regular file, {D}: an
# existing directory holding a user's file, {M}: a missing path, {U}: under a regular file
# (cannot be created), {R:kind}: a copy of S with one damaged row file of that kind.
BAD_INPUTS: list[tuple[tuple[str, ...], str]] = [
    # run
    (("run", "--case", CASE_ID, "--seeds", "abc", "--results", "{S}"),
     "Invalid value for '--seeds'"),
    (("run", "--case", CASE_ID, "--seeds", "0", "--results", "{S}"), "--seeds 0 must be >= 1"),
    (("run", "--case", CASE_ID, "--seeds", "-1", "--results", "{S}"), "--seeds -1"),
    (("run", "--case", CASE_ID, "--seeds", "10000000000000000000000000", "--results", "{S}"),
     "<= 1000"),
    (("run", "--case", CASE_ID, "--days", "0", "--results", "{S}"), "--days 0"),
    (("run", "--case", CASE_ID, "--days", "99999999", "--results", "{S}"), "<= 3660"),
    (("run", "--case", CASE_ID, "--workers", "0", "--results", "{S}"), "--workers 0"),
    (("run", "--case", CASE_ID, "--workers", "100000", "--results", "{S}"), "<= 512"),
    (("run", "--case", CASE_ID, "--split", "holdout", "--results", "{S}"),
     "unknown split 'holdout'; valid: test, val"),
    (("run", "--case", CASE_ID, "--split", "train", "--results", "{S}"), "fitting only"),
    (("run", "--case", CASE_ID, "--budget", "huge", "--results", "{S}"), "unknown budget"),
    (("run", "--case", CASE_ID, "--family", "nope", "--results", "{S}"), "method family"),
    (("run", "--case", CASE_ID, "--family", "rl", "--method", "idle", "--results", "{S}"),
     "no requested method is of family rl (idle is baseline)"),
    (("run", "--case", "nope-v0", "--results", "{S}"), "unknown case 'nope-v0'"),
    (("run", "--case", CASE_ID, "--method", "idel", "--results", "{S}"), "did you mean 'idle'"),
    (("run", "--case", CASE_ID, "--executor", "dask", "--results", "{S}"), "unknown executor"),
    (("run", "--case", CASE_ID, "--address", "auto", "--results", "{S}"), "is for --executor ray"),
    (("run", "--case", CASE_ID, "--method", "idle", "--results", ""), "--results '' is empty"),
    (("run", "--case", CASE_ID, "--method", "idle", "--results", "{F}"), "is a file"),
    (("run", "--case", CASE_ID, "--method", "idle", "--results", "{U}"), "cannot be written"),
    (("run", "--case", CASE_ID, "--day-timeout", "-1", "--results", "{S}"), "--day-timeout -1"),
    (("run", "--case", CASE_ID, "--unit-timeout", "-5", "--results", "{S}"), "--unit-timeout"),
    (("run", "--case", CASE_ID, "--no-such-option", "--results", "{S}"), "No such option"),
    (("run", "--case", CASE_ID, "--method", "idle", "--results", "{R:garbage}"),
     "unreadable"),
    (("run", "--case", CASE_ID, "--method", "marl", "--results", "{S}"), "multi-agent"),
    # leaderboard
    (("leaderboard", "--results", "{S}", "--format", "xml"), "unknown format 'xml'"),
    (("leaderboard", "--results", "{M}"), "does not exist"),
    (("leaderboard", "--results", ""), "--results '' is empty"),
    (("leaderboard", "--results", "{S}", "--split", "holdout"), "unknown split 'holdout'"),
    (("leaderboard", "--results", "{S}", "--case", "toy-storag-v0"), "did you mean"),
    (("leaderboard", "--results", "{S}", "--out", ""), "--out '' is empty"),
    (("leaderboard", "--results", "{S}", "--out", "{D}"), "is a directory"),
    (("leaderboard", "--results", "{S}", "--out", "{U}/lb.md"), "cannot be written"),
    (("leaderboard", "--results", "{R:garbage}"), "unreadable"),
    (("leaderboard", "--results", "{R:empty}"), "unreadable"),
    (("leaderboard", "--results", "{R:truncated}"), "unreadable"),
    (("leaderboard", "--results", "{R:foreign}"), "no key column"),
    (("leaderboard", "--results", "{R:keytype}"), "unreadable"),
    # report
    (("report", "--results", "{M}"), "does not exist"),
    (("report", "--results", "{S}", "--out", "{F}"), "is a file"),
    (("report", "--results", "{S}", "--out", "{D}"), "not a gridbench report directory"),
    (("report", "--results", "{S}", "--out", ""), "--out '' is empty"),
    (("report", "--results", "{S}", "--out", "{U}/rep"), "cannot be written"),
    (("report", "--results", "{R:garbage}", "--out", "{M}"), "unreadable"),
    (("report", "--results", "{R:foreign}", "--out", "{M}"), "no key column"),
    # schedule
    (("schedule", "--case", CASE_ID, "--method", "idle", "--day", "test:0", "--out", "x.txt"),
     "must name a .csv file"),
    (("schedule", "--case", CASE_ID, "--method", "idle", "--day", "test:0", "--out", "{D}"),
     "is a directory"),
    (("schedule", "--case", CASE_ID, "--method", "idle", "--day", "test:0", "--out",
      "{U}/s.csv"), "cannot be written"),
    (("schedule", "--case", CASE_ID, "--method", "idle", "--day", "someday", "--out",
      "{M}.csv"), "neither an ISO date"),
    (("schedule", "--case", CASE_ID, "--method", "idle", "--day", "test:0", "--seed", "-1",
      "--out", "{M}.csv"), "--seed -1"),
    (("schedule", "--case", "nope-v0", "--method", "idle", "--day", "test:0", "--out",
      "{M}.csv"), "unknown case"),
    # compact, grid, cases, ship
    (("compact", "--results", "{M}"), "does not exist"),
    (("compact", "--results", "{F}"), "is a file"),
    (("compact", "--results", "{R:truncated}"), "unreadable"),
    (("grid", "ieee3"), "did you mean 'ieee33'"),
    (("cases", "--bogus"), "No such option"),
    (("ship", "--case", CASE_ID, "--method", "idle", "--seeds", "0"), "--seeds 0"),
]


@pytest.mark.parametrize(("args", "message"), BAD_INPUTS, ids=[" ".join(a[:1] + a[3:6])
                                                               for a, _ in BAD_INPUTS])
def test_bad_input_is_one_line_exit_2_and_touches_nothing(
    toys, smoke_store, tmp_path, args, message
):
    assert len(BAD_INPUTS) >= 40
    store = tmp_path / "S"
    shutil.copytree(smoke_store, store)
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    a_dir = tmp_path / "a_dir"
    a_dir.mkdir()
    (a_dir / "thesis.tex").write_text("precious")
    fill = {"{S}": store, "{F}": a_file, "{D}": a_dir, "{M}": tmp_path / "missing",
            "{U}": a_file / "sub"}  # fmt: skip
    resolved: list[str] = []
    for arg in args:
        if arg.startswith("{R:"):
            damaged = tmp_path / "R"
            shutil.copytree(smoke_store, damaged)
            _damage(damaged, arg[3:-1])
            resolved.append(str(damaged))
            continue
        for key, value in fill.items():
            arg = arg.replace(key, str(value))
        resolved.append(arg)
    before = {p: _snapshot(p) for p in tmp_path.iterdir()}
    cwd_before = sorted(os.listdir("."))

    out = runner.invoke(app, resolved)

    assert out.exit_code == 2, (resolved, out.output)
    lines = out.output.strip().splitlines()
    assert 1 <= len(lines) <= 2, out.output
    assert "Traceback" not in out.output and "│" not in out.output, out.output
    assert message in out.stderr, (message, out.stderr)
    after = {p: _snapshot(p) for p in tmp_path.iterdir()}
    assert after == before  # nothing written, nothing removed
    assert sorted(os.listdir(".")) == cwd_before


def test_budget_names_in_any_case_and_the_summary(toys, tmp_path):
    args = _run_args(tmp_path / "r", "idle", days=1)
    args[args.index("smoke")] = "Smoke"
    out = gridbench(*args)
    assert out.exit_code == 0, out.output
    assert set(ResultsStore(tmp_path / "r").frame()["budget"]) == {"smoke"}


# --------------------------------------------------------------------------- data loss


def test_report_out_keeps_a_users_files(toys, smoke_store, tmp_path):
    out = tmp_path / "x"
    out.mkdir()
    (out / "report.md").write_text("a")
    (out / "thesis.tex").write_text("precious")
    run = gridbench("report", "--results", smoke_store, "--out", out)
    assert run.exit_code == 2, run.output
    assert (out / "thesis.tex").read_text() == "precious"


def test_a_full_disk_is_one_line_and_keeps_finished_rows(toys, tmp_path, monkeypatch):
    import errno

    results = tmp_path / "r"
    real_append = ResultsStore.append
    calls = {"n": 0}

    def append(self, rows, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 1:  # the first day is stored, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device", str(self.root))
        return real_append(self, rows, *args, **kwargs)

    monkeypatch.setattr(ResultsStore, "append", append)
    out = gridbench(*_run_args(results, "idle"))
    assert out.exit_code == 2, out.output
    assert len(out.output.strip().splitlines()) == 1 and "Traceback" not in out.output
    assert "No space left on device" in out.stderr and "finished are kept" in out.stderr
    monkeypatch.setattr(ResultsStore, "append", real_append)
    assert len(ResultsStore(results).frame()) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_results_directory_fails_before_any_work(toys, tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        out = gridbench(*_run_args(parent / "r", "idle"))
    finally:
        parent.chmod(0o755)
    assert out.exit_code == 2 and "cannot be written" in out.stderr, out.output
    assert list(parent.iterdir()) == []


# --------------------------------------------------------------------------- hangs


def test_a_hanging_day_times_out_and_the_run_goes_on(toys, tmp_path):
    results = tmp_path / "r"
    t0 = time.monotonic()
    out = gridbench(*_run_args(results, "hanger", "idle", extra=("--day-timeout", "1")))
    took = time.monotonic() - t0
    assert out.exit_code == 0, out.output
    frame = ResultsStore(results).frame()
    hanger = frame[frame["method"] == "hanger"]
    assert list(hanger["status"]) == ["timeout", "timeout"]
    assert all("time limit of 1 s" in m for m in hanger["message"])
    assert list(frame[frame["method"] == "idle"]["status"]) == ["ok", "ok"]
    assert took < 60


def test_a_day_stuck_in_native_code_is_stopped_by_the_driver(toys, tmp_path):
    """SIGALRM blocked (as in native code): the driver stops the worker past limit + grace,
    stores the stuck day's timeout row and records the unit; the next run resumes after it."""
    case = registry.make_case(CASE_ID)
    days = case.days("test")[:3]
    store = ResultsStore(tmp_path / "r")
    task = make_task(case, "deafhang", 0, "smoke", "test", days)
    limits = TimeLimits(day_s=0.5, unit_s=None)
    executor = LocalExecutor(1, progress=False, isolate=True, limits=limits)
    import gridbench.benchmarks.executors as executors

    grace = executors._HARD_GRACE_FLOOR_S
    executors._HARD_GRACE_FLOOR_S = 0.5
    try:
        summary = executor.run([task], store)
    finally:
        executors._HARD_GRACE_FLOOR_S = grace
    (result,) = summary.results
    assert result.failed and "ran past --day-timeout 0.5 s" in result.error
    frame = store.frame()
    assert list(frame["status"]) == ["ok", "timeout"]
    assert [f.unit.method for f in store.failures()] == ["deafhang"]


def test_unit_timeout_stops_a_unit_and_keeps_the_others(toys, tmp_path, monkeypatch):
    monkeypatch.setenv("GRIDBENCH_TEST_PID_DIR", str(tmp_path))
    results = tmp_path / "r"
    out = gridbench(*_run_args(results, "sleeper", "idle", days=1,
                               extra=("--unit-timeout", "3")))  # fmt: skip
    assert out.exit_code == 1, out.output
    assert "ran past --unit-timeout 3 s" in out.stderr
    store = ResultsStore(results)
    assert list(store.frame()["method"]) == ["idle"]
    assert [f.unit.method for f in store.failures()] == ["sleeper"]


def test_a_unit_that_kills_its_process_alone_is_recorded(toys, tmp_path):
    """One unit, default workers: it used to run inline and take the run down (exit 7, no
    record); each unit now runs in a process of its own."""
    results = tmp_path / "r"
    out = gridbench(*_run_args(results, "killer", days=1))
    assert out.exit_code == 1, out.output
    assert "worker process died with exit code 7" in out.stderr
    assert [f.unit.method for f in ResultsStore(results).failures()] == ["killer"]
    again = gridbench(*_run_args(results, "killer", "idle", days=1))
    assert again.exit_code == 1 and "wrote 1 row(s)" in again.stdout


def test_unreachable_ray_address_fails_fast_in_one_line(toys, tmp_path):
    pytest.importorskip("ray")
    for address in ("127.0.0.1:1", "ray://127.0.0.1:1", "nonsense:port"):
        t0 = time.monotonic()
        out = gridbench(*_run_args(tmp_path / "r", "idle", extra=("--executor", "ray",
                                                                   "--address", address)))
        assert out.exit_code == 2, out.output
        assert len(out.output.strip().splitlines()) == 1, out.output
        assert time.monotonic() - t0 < 15
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------------- plugins

PLUGIN_MODULES = {
    "gb_exits.py": "import sys\nsys.exit(3)\n",
    "gb_broken_methods.py": """\
        from gridbench.cases.contracts import MethodFamily


        class _Base:
            family = MethodFamily.BASELINE

            def supports(self, case):
                return True

            def fit(self, case, seed, budget):
                return None

            def controller(self, case, day):
                raise NotImplementedError


        class CtorFails(_Base):
            name = "ctorfail"

            def __init__(self):
                raise RuntimeError("no licence file")


        class SupportsFails(_Base):
            name = "supportsfail"

            def supports(self, case):
                raise KeyError("grid")
        """,
    "gb_broken_cases.py": """\
        from toy_case import ToyCase


        def factory_raises(**kwargs):
            raise RuntimeError("data file missing")


        class BadConfig(ToyCase):
            id = "bad-config-v0"

            def __init__(self, **kwargs):
                super().__init__(capacity_mwh="lots")
        """,
}
PLUGIN_ENTRY_POINTS = """\
[gridbench.methods]
exits = gb_exits
ctorfail = gb_broken_methods:CtorFails
supportsfail = gb_broken_methods:SupportsFails

[gridbench.cases]
broken-factory-v0 = gb_broken_cases:factory_raises
bad-config-v0 = gb_broken_cases:BadConfig
"""


@pytest.fixture
def broken_plugins(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    for name, text in PLUGIN_MODULES.items():
        (site / name).write_text(textwrap.dedent(text))
    info = site / "gb_broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gb-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(PLUGIN_ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(site))
    with toy_case.registered():
        yield site
    for name in ("gb_exits", "gb_broken_methods", "gb_broken_cases"):
        sys.modules.pop(name, None)


def _warnings(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("gridbench: warning:")]


def test_broken_plugins_are_one_warning_each_and_hide_nothing(broken_plugins, tmp_path):
    cases = gridbench("cases", "--json")
    assert cases.exit_code == 0, cases.output
    ids = [c["id"] for c in json.loads(cases.stdout)]
    assert CASE_ID in ids and "toy-storage-2l-v0" in ids
    assert "broken-factory-v0" not in ids and "bad-config-v0" not in ids
    warned = "\n".join(_warnings(cases.stderr))
    assert "'exits'" in warned and "SystemExit" in warned
    assert "broken-factory-v0" in warned and "data file missing" in warned
    assert "bad-config-v0" in warned

    methods = gridbench("methods", "--json")
    assert methods.exit_code == 0, methods.output
    names = [m["name"] for m in json.loads(methods.stdout)]
    assert "idle" in names and "ctorfail" not in names
    warned = "\n".join(_warnings(methods.stderr))
    assert "ctorfail" in warned and "no licence file" in warned
    assert "supportsfail" in warned and "supports(" in warned

    run = gridbench("run", "--family", "baseline", "--seeds", "1", "--days", "1", "--budget",
                    "smoke", "--results", tmp_path / "r", "--no-progress")  # fmt: skip
    assert run.exit_code == 1, run.output  # the toy killer/fitfail/sleeper baselines fail
    assert "ctorfail" in run.stderr and "broken-factory-v0" in run.stderr
    assert "Traceback" not in run.output
    stored = set(ResultsStore(tmp_path / "r").frame()["method"])
    assert "idle" in stored and "ctorfail" not in stored
    assert all(len(w) < 400 for w in _warnings(run.stderr))

    named = gridbench("run", "--case", "broken-factory-v0", "--results", tmp_path / "q")
    assert named.exit_code == 2 and "data file missing" in named.stderr, named.output


# --------------------------------------------------------------------------- ranking


def test_partial_failed_and_nan_methods_are_shown_and_never_ranked_first(toys, tmp_path):
    results = tmp_path / "r"
    out = gridbench(*_run_args(results, "idle", "oracle", "quitter", "nanny", "fitfail"))
    assert out.exit_code == 1, out.output  # quitter died, fitfail raised
    frame = ResultsStore(results).frame()
    nanny = frame[frame["method"] == "nanny"]
    assert set(nanny["status"]) == {"invalid_action"}
    assert (nanny["action_nonfinite"] == 24).all()
    assert (frame[frame["method"] == "idle"]["action_nonfinite"] == 0).all()

    board = gridbench("leaderboard", "--format", "json", "--results", results)
    assert board.exit_code == 0, board.output
    entries = {e["method"]: e for e in json.loads(board.stdout)}
    assert entries["idle"]["rank"] == 1 and entries["idle"]["complete"] is True
    quitter = entries["quitter"]
    assert quitter["complete"] is False and quitter["units_failed"] == 1
    assert (quitter["days_least"], quitter["days_asked"]) == (1, 2)
    assert quitter["rank"] > entries["nanny"]["rank"] or not entries["nanny"]["feasible"]
    assert entries["nanny"]["feasible"] is False and entries["nanny"]["cost"] is None
    assert entries["nanny"]["action_nonfinite"] == 48
    assert entries["fitfail"]["n_days"] == 0 and entries["fitfail"]["units_failed"] == 1
    ranks = [entries[m]["rank"] for m in ("idle", "nanny", "quitter", "fitfail")]
    assert ranks == sorted(ranks)

    md = gridbench("leaderboard", "--results", results)
    assert "1 unit(s) failed; 1/2 days" in md.stdout
    assert "48 non-finite actions" in md.stdout
    assert "| fitfail |" in md.stdout


# --------------------------------------------------------------------------- readers


def test_readers_see_every_key_once_while_compact_runs(smoke_store, tmp_path):
    results = tmp_path / "S"
    shutil.copytree(smoke_store, results)
    writer_store = ResultsStore(results)
    # many small files per directory so that compaction has work to do
    rows = writer_store.frame()
    extra = []
    for seed in range(3, 30):
        for _, row in rows[rows["seed"] == 0].iterrows():
            extra.append({**row.to_dict(), "seed": seed})
    for chunk in range(0, len(extra), 4):
        writer_store.append(extra[chunk : chunk + 4])
    keys = len(writer_store.frame())
    errors: list[BaseException] = []
    counts: list[int] = []
    stop = threading.Event()

    def read() -> None:
        reader = ResultsStore(results)  # a reader of its own, as another process would have
        while not stop.is_set():
            try:
                counts.append(len(reader.frame()))
            except BaseException as exc:  # every failure is the finding
                errors.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for _ in range(3):
            ResultsStore(results).compact()
            for chunk in range(0, len(extra), 4):  # new files for the next compaction
                ResultsStore(results).append(
                    [{**r, "seed": r["seed"] + 100} for r in extra[chunk : chunk + 4]]
                )
    finally:
        stop.set()
        thread.join()
    assert not errors, errors[:3]
    assert counts and min(counts) >= keys


# --------------------------------------------------------------------------- the console


def _default_sigint() -> None:
    """In the child before it execs: SIGINT back to its default, as in a terminal. A test run
    started in the background (``make test &``) ignores SIGINT, and an ignored SIGINT is
    inherited: Python then installs no KeyboardInterrupt handler and Ctrl-C does nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _script(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    driver = (
        f"import sys\nsys.path.insert(0, {str(TESTS)!r})\nimport toy_case\n"
        f"from gridbench.benchmarks.cli import main\n"
        f"with toy_case.registered():\n    sys.argv = ['gridbench', *{list(args)!r}]\n"
        f"    {code}\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", driver],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        preexec_fn=_default_sigint,
    )


def test_usage_error_of_the_console_script_is_one_line():
    proc = _script("main()", "run", "--seeds", "abc")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    assert err.strip().splitlines() == [
        "gridbench: error: Invalid value for '--seeds': Input should be a valid integer, "
        "unable to parse string as an integer (see `gridbench run --help`)"
    ]


def test_ctrl_c_prints_the_documented_line(tmp_path):
    args = [str(a) for a in _run_args(tmp_path / "r", "sleeper", days=1)]
    proc = _script("main()", *args, env={"GRIDBENCH_TEST_PID_DIR": str(tmp_path)})
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("*.pid")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(tmp_path.glob("*.pid")), "the sleeper never started"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "gridbench: interrupted; finished rows are kept in the results store" in err
    assert "Traceback" not in err


def test_a_worker_runs_units_in_turn_and_a_dead_one_is_replaced(toys, tmp_path, monkeypatch):
    """The start-up of a worker is paid once per worker, not per unit: with one worker, the
    units run in one process; a unit that kills it costs only itself, a new worker takes
    the next unit."""
    pids = tmp_path / "pids"
    pids.mkdir()
    monkeypatch.setenv("GRIDBENCH_TEST_PID_DIR", str(pids))
    out = gridbench(*_run_args(tmp_path / "r", "pidwriter", days=1, seeds=3))
    assert out.exit_code == 0, out.output
    assert len({p.read_text() for p in pids.iterdir()}) == 1  # one process ran all three
    shutil.rmtree(pids)
    pids.mkdir()
    out = gridbench(*_run_args(tmp_path / "q", "killer", "pidwriter", days=1, seeds=2))
    assert out.exit_code == 1, out.output
    assert out.stderr.count("worker process died with exit code 7") == 2
    assert sorted(p.name for p in pids.iterdir()) == ["seed0", "seed1"]
    frame = ResultsStore(tmp_path / "q").frame()
    assert sorted(frame["method"]) == ["pidwriter", "pidwriter"]
