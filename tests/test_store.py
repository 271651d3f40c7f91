"""Results store and provenance: round trip, resume, atomicity, queries, errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import subprocess
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from gridbench.benchmarks import provenance as prov
from gridbench.benchmarks.provenance import (
    PROVENANCE_COLUMNS,
    Provenance,
    canonical_json,
    config_hash,
    make_run_id,
)
from gridbench.benchmarks.store import (
    KEY_COLUMNS,
    CorruptResultsFile,
    InvalidRowError,
    ResultsNotFound,
    ResultsStore,
    RowKey,
    UnitKey,
    UnitStatus,
)

CASE = "ses-carbon-ieee33-v0"
WHEN = dt.datetime(2026, 11, 24, 15, 30, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def provenance() -> Provenance:
    """One provenance record for the rows of these tests."""
    return Provenance.create(CASE, "ppo", 0, {"lr": 3e-4, "layers": [64, 64]}, when=WHEN)


def row(
    day: int, method: str = "ppo", seed: int = 0, budget: str = "smoke", **metrics: Any
) -> dict[str, Any]:
    """A row of ``CASE`` for 2019-01-<day> with default metrics overridden by ``metrics``."""
    values: dict[str, Any] = {
        "case": CASE,
        "method": method,
        "seed": seed,
        "day": f"2019-01-{day:02d}",
        "budget": budget,
        "cost": 100.0 + day,
        "feasible": True,
    }
    values.update(metrics)
    return values


def key(day: int, method: str = "ppo", seed: int = 0) -> RowKey:
    """The key of ``row(day, method, seed)``."""
    return RowKey(CASE, method, seed, f"2019-01-{day:02d}", "smoke")


@pytest.fixture
def store(tmp_path: Path) -> ResultsStore:
    """A store under a results directory that does not exist yet."""
    return ResultsStore(tmp_path / "results")


def _row_files(store: ResultsStore) -> list[Path]:
    return sorted(p for p in store.rows_dir.rglob("*.parquet") if not p.name.startswith("."))


# --------------------------------------------------------------------------- round trip


def test_round_trip_keeps_values_types_and_provenance(
    store: ResultsStore, provenance: Provenance
) -> None:
    rows = [
        row(1, cost=1.0 / 3.0, steps=96, note="a", flag=np.bool_(False)),
        row(2, cost=np.float64(2.5), steps=np.int64(97), note=None, flag=True),
    ]
    result = store.append(rows, provenance=provenance)
    assert (result.n_written, result.n_skipped) == (2, 0)
    assert result.written == (key(1), key(2))
    frame = store.frame()
    assert list(frame.columns[: len(KEY_COLUMNS) + len(PROVENANCE_COLUMNS)]) == [
        *KEY_COLUMNS,
        *PROVENANCE_COLUMNS,
    ]
    assert frame["cost"].tolist() == [1.0 / 3.0, 2.5]  # exact, not rounded
    assert frame["steps"].tolist() == [96, 97]
    assert frame["note"].tolist() == ["a", None]
    assert frame["flag"].tolist() == [False, True]
    assert frame["seed"].dtype == np.int64 and frame["host_cores"].dtype == np.int64
    first = frame.iloc[0]
    assert first["run_id"] == f"{CASE}__ppo__0__20261124T153012Z"
    assert first["config_hash"] == config_hash({"layers": [64, 64], "lr": 3e-4})
    assert first["git_commit"] == prov.git_commit() != ""
    versions = json.loads(first["package_versions"])
    assert versions["numpy"] == np.__version__ and versions["pandas"] == pd.__version__
    assert store.completed_keys() == {key(1), key(2)}
    assert store.has(key(1)) and not store.has(key(3))


def test_provenance_may_come_in_the_rows(store: ResultsStore, provenance: Provenance) -> None:
    result = store.append([{**row(1), **provenance.columns()}])
    assert result.n_written == 1
    assert store.frame()["python"].item() == provenance.python


def test_rows_land_in_one_atomic_file_per_unit(store: ResultsStore, provenance: Provenance) -> None:
    rows = [row(d, method=m, seed=s) for m in ("ppo", "mpc") for s in (0, 1) for d in (1, 2)]
    result = store.append(rows, provenance=provenance)
    assert len(result.files) == 4
    assert {p.relative_to(store.rows_dir).parts[:2] for p in result.files} == {
        (CASE, "ppo"),
        (CASE, "mpc"),
    }
    assert all(re.fullmatch(r"s[01]-smoke-[0-9a-f]{16}\.parquet", p.name) for p in result.files)
    meta = pq.read_schema(result.files[0]).metadata
    assert meta[b"gridbench.store_format"] == b"1"


def test_frame_filters_by_case_and_method(store: ResultsStore, provenance: Provenance) -> None:
    store.append([row(1, method="ppo"), row(1, method="mpc"), row(2, method="mpc")], provenance)
    assert store.frame(method="mpc")["day"].tolist() == ["2019-01-01", "2019-01-02"]
    assert len(store.frame(case=CASE, method="ppo")) == 1
    empty = store.frame(case="other-case-v0")
    assert empty.empty and list(empty.columns) == [*KEY_COLUMNS, *PROVENANCE_COLUMNS]


# --------------------------------------------------------------------------- resume


def test_resume_skips_stored_keys_and_never_duplicates(
    store: ResultsStore, provenance: Provenance
) -> None:
    assert store.append([row(1), row(2), row(3)], provenance).n_written == 3
    result = store.append([row(d, cost=-1.0) for d in range(1, 6)], provenance)
    assert (result.n_written, result.n_skipped) == (2, 3)
    assert result.skipped == (key(1), key(2), key(3))
    assert result.written == (key(4), key(5))
    again = store.append([row(d) for d in range(1, 6)], provenance)
    assert (again.n_written, again.n_skipped, again.files) == (0, 5, ())
    frame = store.frame()
    assert len(frame) == 5 and not frame.duplicated(list(KEY_COLUMNS)).any()
    assert frame["cost"].tolist() == [101.0, 102.0, 103.0, -1.0, -1.0]  # first write wins
    assert len(_row_files(store)) == 2


def test_a_second_store_object_sees_rows_of_the_first(
    store: ResultsStore, provenance: Provenance
) -> None:
    store.append([row(1)], provenance)
    other = ResultsStore(store.root)
    assert other.append([row(1), row(2)], provenance).n_skipped == 1
    assert store.completed_keys() == {key(1), key(2)}


def test_concurrent_writers_do_not_duplicate(store: ResultsStore, provenance: Provenance) -> None:
    rows = [row(d) for d in range(1, 21)]
    written: list[int] = []

    def work(offset: int) -> None:
        mine = ResultsStore(store.root)  # own instance: the flock, not the mutex, decides
        for i in range(len(rows)):
            written.append(mine.append([rows[(i + offset) % len(rows)]], provenance).n_written)

    threads = [threading.Thread(target=work, args=(k * 5,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(written) == 20
    assert len(store.frame()) == 20 and len(_row_files(store)) == 20


def test_unit_status_and_missing_days(store: ResultsStore, provenance: Provenance) -> None:
    unit = UnitKey(CASE, "ppo", 0, "smoke")
    days = ["2019-01-01", dt.date(2019, 1, 2), "2019-01-03"]
    assert store.unit_status(unit, days) is UnitStatus.PENDING
    store.append([row(1)], provenance)
    assert store.unit_status(unit, days) is UnitStatus.PARTIAL
    assert store.missing_days(unit, days) == ["2019-01-02", "2019-01-03"]
    store.append_failure(unit, "boom")
    assert store.unit_status(unit, days) is UnitStatus.FAILED
    store.append([row(2), row(3)], provenance)
    assert store.unit_status(unit, days) is UnitStatus.DONE


# --------------------------------------------------------------------------- atomicity


def test_readers_ignore_temp_files_and_the_next_writer_removes_them(
    store: ResultsStore, provenance: Provenance
) -> None:
    store.append([row(1)], provenance)
    good = _row_files(store)[0]
    torn = good.with_name(f".{good.stem}-x.parquet.123-abcd.tmp")
    torn.write_bytes(good.read_bytes()[:40])  # what a killed writer leaves
    full = good.with_name(f".{good.stem}-y.parquet.456-ef01.tmp")
    full.write_bytes(good.read_bytes())
    fresh = ResultsStore(store.root)
    assert fresh.completed_keys() == {key(1)}
    assert len(fresh.frame()) == 1
    assert fresh.query("SELECT count(*) AS n FROM results")["n"].item() == 1
    fresh.append([row(2)], provenance)
    assert not torn.exists() and not full.exists()
    assert len(fresh.frame()) == 2


def test_a_write_that_fails_midway_leaves_nothing(
    store: ResultsStore, provenance: Provenance, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.append([row(1)], provenance)

    def broken(table: Any, where: Any, **kwargs: Any) -> None:
        where.write(b"PAR1")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        store.append([row(2)], provenance)
    monkeypatch.undo()
    assert [p.name for p in store.rows_dir.rglob("*") if p.is_file()] == [_row_files(store)[0].name]
    assert store.completed_keys() == {key(1)}
    assert store.append([row(2)], provenance).n_written == 1


# --------------------------------------------------------------------------- duckdb


def test_query_aggregates(store: ResultsStore, provenance: Provenance) -> None:
    store.append([row(d, method="ppo", cost=float(d)) for d in (1, 2, 3)], provenance)
    store.append([row(d, method="mpc", cost=10.0 * d, feasible=d != 2) for d in (1, 2)], provenance)
    frame = store.query(
        'SELECT "case", method, avg(cost) AS cost, sum(cost) AS total, count(*) AS n, '
        "bool_and(feasible) AS feasible FROM results GROUP BY ALL ORDER BY method"
    )
    assert frame.to_dict("records") == [
        {"case": CASE, "method": "mpc", "cost": 15.0, "total": 30.0, "n": 2, "feasible": False},
        {"case": CASE, "method": "ppo", "cost": 2.0, "total": 6.0, "n": 3, "feasible": True},
    ]
    one = store.query(
        "SELECT cost FROM results WHERE method = ? AND day = ?", ["mpc", "2019-01-02"]
    )
    assert one["cost"].tolist() == [20.0]


def test_query_unions_columns_by_name_and_widens_ints(
    store: ResultsStore, provenance: Provenance
) -> None:
    store.append([row(1, steps=96)], provenance)
    store.append([row(2, steps=96.5, gap=0.1)], provenance)  # int then float: both kept
    frame = store.query("SELECT day, steps, gap FROM results ORDER BY day")
    assert frame["steps"].tolist() == [96.0, 96.5]
    assert frame["gap"].isna().tolist() == [True, False]
    with store.connect() as connection:  # the view sees rows published after it was made
        store.append([row(3)], provenance)
        assert connection.execute("SELECT count(*) FROM results").fetchone() == (3,)


# --------------------------------------------------------------------------- failures


def test_failures_are_recorded_counted_and_cleared(
    store: ResultsStore, provenance: Provenance
) -> None:
    unit = UnitKey(CASE, "ppo", 0, "smoke")
    other = UnitKey(CASE, "mpc", 1, "smoke")
    first = store.append_failure(unit, "Traceback ...\nValueError: diverged", provenance)
    assert first.attempts == 1 and first.run_id == provenance.run_id
    second = store.append_failure(unit, "ValueError: diverged again")
    assert second.attempts == 2 and second.first_utc == first.first_utc
    store.append_failure(other, "boom")
    assert [(f.unit, f.attempts) for f in store.failures()] == [(other, 1), (unit, 2)]
    assert store.failures()[1].error == "ValueError: diverged again"
    store.append([row(1)], provenance)  # the unit succeeded: its failure goes
    assert [f.unit for f in store.failures()] == [other]
    assert store.clear_failure(other) and not store.clear_failure(other)
    assert store.failures() == []
    assert not list(store.failures_dir.rglob("*.tmp"))


# --------------------------------------------------------------------------- errors


def test_missing_directory_reads_fail_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    store = ResultsStore(missing)
    assert store.completed_keys() == set() and not store.has(key(1))
    assert not missing.exists()  # reading created nothing
    for read in (store.frame, store.failures, lambda: store.query("SELECT 1")):
        with pytest.raises(ResultsNotFound) as info:
            read()
        assert str(missing) in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)
    missing.mkdir()
    with pytest.raises(ResultsNotFound, match="holds no result rows"):
        store.frame()
    assert store.failures() == []


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"method": None}, "method None is not a valid name"),
        ({"case": "../escape"}, r"case '\.\./escape' is not a valid name"),
        ({"seed": -1}, "seed -1 is not valid"),
        ({"seed": True}, "seed True is not valid"),
        ({"day": "2019-1-5"}, "day '2019-1-5' is not valid"),
        ({"budget": "a b"}, "budget 'a b' is not a valid name"),
        ({"cost": [1.0, 2.0]}, "column 'cost' holds a list; rows are nested-free"),
        ({"cost": {"a": 1.0}}, "column 'cost' holds a dict"),
        ({"cost": np.zeros(3)}, "column 'cost' holds a ndarray"),
        ({"cost": object()}, "column 'cost' holds a object"),
        ({"host_cores": "4"}, "provenance column 'host_cores' is '4'"),
        ({"cost": 2**70}, "column 'cost' cannot be stored: .*ints within int64"),
    ],
)
def test_bad_rows_are_rejected_with_a_clear_message(
    store: ResultsStore, provenance: Provenance, bad: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRowError, match=message):
        store.append([{**provenance.columns(), **row(1), **bad}])
    assert not store.root.exists()  # nothing written, not even the directory


def test_missing_columns_and_duplicates_are_rejected(
    store: ResultsStore, provenance: Provenance
) -> None:
    incomplete = row(1)
    del incomplete["day"]
    with pytest.raises(InvalidRowError, match="lacks key column"):
        store.append([incomplete], provenance)
    with pytest.raises(InvalidRowError, match=r"lacks provenance column.*run_id"):
        store.append([row(1)])
    with pytest.raises(InvalidRowError, match="appears twice"):
        store.append([row(1), row(1)], provenance)
    with pytest.raises(InvalidRowError, match="row 0 is a tuple"):
        store.append([(1, 2)], provenance)  # type: ignore[list-item]
    with pytest.raises(InvalidRowError, match="'cost' cannot be stored: mixes types float, str"):
        store.append([row(1), row(2, cost="high")], provenance)
    assert not store.root.exists()


def test_type_conflicts_with_stored_rows_are_rejected(
    store: ResultsStore, provenance: Provenance
) -> None:
    store.append([row(1, note=None)], provenance)
    with pytest.raises(InvalidRowError, match="'cost' would hold string values but stored"):
        store.append([row(2, cost="high")], provenance)
    assert store.append([row(3, note="null column takes any type")], provenance).n_written == 1
    assert len(store.frame()) == 2


def test_a_damaged_file_is_named_in_the_error(store: ResultsStore, provenance: Provenance) -> None:
    store.append([row(1)], provenance)
    _row_files(store)[0].write_bytes(b"not parquet")  # damage from outside the store
    with pytest.raises(CorruptResultsFile, match="is unreadable") as info:
        ResultsStore(store.root).completed_keys()
    assert _row_files(store)[0].name in str(info.value) and "\n" not in str(info.value)


# --------------------------------------------------------------------------- provenance


def test_config_hash_is_canonical() -> None:
    base = {"lr": 3e-4, "net": {"layers": [64, 64], "act": "tanh"}, "gamma": 0.99}
    same = {"gamma": np.float64(0.99), "net": {"act": "tanh", "layers": (64, np.int64(64))}}
    same["lr"] = 0.0003
    assert config_hash(base) == config_hash(same)
    assert re.fullmatch(r"[0-9a-f]{16}", config_hash(base))
    assert config_hash(base) != config_hash({**base, "gamma": 0.9900000000000001})
    assert config_hash({"a": 1}) != config_hash({"a": 1.0})
    assert canonical_json({"b": float("nan"), "a": {3}}) == '{"a":[3],"b":"nan"}'

    @dataclasses.dataclass
    class Cfg:
        when: dt.date
        path: Path

    assert canonical_json({"c": Cfg(dt.date(2019, 1, 1), Path("x/y"))}) == (
        '{"c":{"path":"x/y","when":"2019-01-01"}}'
    )
    with pytest.raises(ValueError, match=r"config key 1 at config\.a is a int"):
        config_hash({"a": {1: 2}})
    with pytest.raises(ValueError, match=r"config value at config\.f has type function"):
        config_hash({"f": lambda: 0})
    with pytest.raises(ValueError, match="config must be a mapping"):
        config_hash([1, 2])  # type: ignore[arg-type]


def test_run_id_is_greppable() -> None:
    assert make_run_id(CASE, "ddpg per/or", 3, WHEN) == (
        f"{CASE}__ddpg_per_or__3__20261124T153012Z"
    )
    assert re.fullmatch(r"[^_]+(_[^_]+)*__\w+__\d+__\d{8}T\d{6}Z", make_run_id("a", "b", 1))


def test_provenance_is_frozen(provenance: Provenance) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        provenance.run_id = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        provenance.package_versions["numpy"] = "0"  # type: ignore[index]
    assert provenance.host_cores >= 1 and provenance.python.count(".") == 2


@pytest.fixture
def fresh_caches() -> Any:
    """Clear the per-process caches before and after a test that fakes their inputs."""
    prov.git_commit.cache_clear()
    prov._package_versions.cache_clear()
    yield
    prov.git_commit.cache_clear()
    prov._package_versions.cache_clear()


def test_package_versions_skip_missing(fresh_caches: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prov, "TRACKED_PACKAGES", ("numpy", "no-such-distribution-x"))
    assert prov.package_versions() == {"numpy": np.__version__}


def test_git_commit_falls_back_to_env_then_unknown(
    fresh_caches: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(prov, "_REPO_ROOT", tmp_path)  # not a git checkout
    monkeypatch.setenv(prov.GIT_COMMIT_ENV, "abc123")
    assert prov.git_commit() == "abc123"
    prov.git_commit.cache_clear()
    monkeypatch.delenv(prov.GIT_COMMIT_ENV)
    assert prov.git_commit() == "unknown"


def test_git_commit_reads_head_and_dirty_state(
    fresh_caches: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", *args],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    try:
        git("init", "-q")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git is not available")
    (tmp_path / "f.txt").write_text("1")
    git("add", "f.txt")
    git("commit", "-q", "-m", "init")
    head = git("rev-parse", "HEAD")
    monkeypatch.setattr(prov, "_REPO_ROOT", tmp_path.resolve())
    monkeypatch.setenv(prov.GIT_COMMIT_ENV, "ignored-when-git-works")
    (tmp_path / "untracked.parquet").write_text("results are not code changes")
    assert prov.git_commit() == head
    prov.git_commit.cache_clear()
    (tmp_path / "f.txt").write_text("2")
    assert prov.git_commit() == f"{head}-dirty"
    (tmp_path / "f.txt").write_text("3")
    assert prov.git_commit() == f"{head}-dirty"  # cached once per process


# --------------------------------------------------------------------------- compaction


def test_compact_merges_each_method_into_one_file_and_keeps_every_row(
    store: ResultsStore, provenance: Provenance
) -> None:
    for d in range(1, 6):  # the harness publishes one file per day
        store.append([row(d), row(d, method="mpc", extra=float(d))], provenance)
    store.append([row(1, seed=1)], provenance)
    before = store.frame()
    assert len(_row_files(store)) == 11
    assert store.compact() == {"files_before": 11, "files_after": 2, "rows": 11}
    files = _row_files(store)
    assert [p.name.startswith("c-") for p in files] == [True, True]
    pd.testing.assert_frame_equal(store.frame(), before)
    assert store.append([row(d) for d in range(1, 8)], provenance).n_written == 2  # resume
    assert store.compact()["files_after"] == 2


def test_a_crash_between_publishing_and_deleting_leaves_no_visible_duplicates(
    store: ResultsStore, provenance: Provenance
) -> None:
    for d in range(1, 4):
        store.append([row(d)], provenance)
    old = _row_files(store)
    saved = {p: p.read_bytes() for p in old}
    store.compact()
    for path, data in saved.items():  # as if the process died before deleting them
        path.write_bytes(data)
    fresh = ResultsStore(store.root)
    frame = fresh.frame()
    assert len(frame) == 3 and not frame.duplicated(list(KEY_COLUMNS)).any()
    assert fresh.append([row(4)], provenance).n_written == 1  # the writer cleans up
    assert all(not p.exists() for p in old)
    assert len(fresh.frame()) == 4
