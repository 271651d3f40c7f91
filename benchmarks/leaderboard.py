"""Leaderboard: from the stored rows to one ranked entry per (case, method) (DESIGN §3, §6).

Pipeline (:func:`build`):

1. Rows of the requested ``split`` (default ``test``) and case; per (case, method) only the
   highest budget stored (``paper`` > ``reference`` > ``quick`` > ``smoke``), so a smoke run
   never dilutes a reference run.
2. ``gap`` per row = ``(cost − oracle cost) / |oracle cost|`` with the oracle's cost on the
   *same case and day* (rows of method :data:`ORACLE_METHOD`, status ``ok``, any seed: their
   mean; the oracle is deterministic). NaN where the day has no oracle row (or its cost is 0).
3. Per (case, method, seed): the mean over the days of every metric, over the rows with
   status ``ok`` (a failed day has no metrics; it counts against feasibility instead).
   Compute: ``decision_ms_p50``/``_p95`` time the ``act`` calls only; ``plan_ms`` is the
   controller's ``reset`` (where planners compute their plan) per day and
   ``compute_ms_per_decision`` = (plan + Σ act) / decisions, the day's whole compute per
   decision (:mod:`~gridbench.benchmarks.compute_cost`; derived from ``solve_s``,
   ``decide_s`` and ``n_steps`` for rows stored before these columns existed).
4. Across seeds: interquartile mean, 95 % stratified-bootstrap interval, mean and sample std
   (:mod:`gridbench.benchmarks.aggregate`), for every metric of :data:`LEADERBOARD_METRICS`
   and the case's ``cost_<term>`` (and, in a game, ``profit_<player>`` and
   ``regret_<player>``; the referee's day KPIs ``kpi_<name>``) columns.
5. ``feasible`` (per entry) = every row has status ``ok`` and is feasible
   (:data:`~gridbench.benchmarks.metrics.TOLERANCES`); ``feasible_frac`` is the share of such
   rows. Ranking per case: feasible entries first, then by the IQM of ``cost`` (ascending),
   then by name. The oracle (and any family-``bound`` method) is reported with family
   ``bound`` and ``rank`` null: a reference, never a competitor.

Formats (:func:`render`): ``md`` (a table per case), ``csv`` (one line per entry, the JSON
keys as columns) and ``json`` (a list of objects; keys, in order: ``case``, ``method``,
``family``, ``n_seeds``, ``n_days``, ``feasible``, then for every metric its IQM under its own
key and ``<key>_lo``, ``<key>_hi``, ``<key>_mean``, ``<key>_std``; then ``rank``, ``budget``,
``split``, ``feasible_frac``, ``n_rows``, ``n_failed``, ``complete``, ``days_asked``,
``days_least``, ``units_failed``, ``action_nonfinite``, ``action_clipped``). Missing numbers
(NaN) are ``null``.

Completeness: the days *asked* of a case are the days any of its methods stored (in the
split); an entry is ``complete`` when each of its seeds has a row on every one of them and
none of its units has a recorded failure (``failures``). Incomplete entries rank after the
complete ones, so a method that ran 40 of 73 days never outranks one that ran all; a
(case, method) whose every unit failed before its first row is listed with no numbers.
``action_nonfinite``/``action_clipped``: the action entries the referee had to project, summed
over the rows; a day with non-finite entries has status ``invalid_action`` (a failed day).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from gridbench.benchmarks.aggregate import DEFAULT_REPS, summarize
from gridbench.benchmarks.compute_cost import with_compute_columns
from gridbench.cases.contracts import Budget, MethodFamily

if TYPE_CHECKING:
    import pandas as pd

    from gridbench.benchmarks.store import FailureRecord, ResultsStore

__all__ = [
    "BOUND_COLUMN",
    "CASE_METRIC_PREFIXES",
    "DISPLAY_COLUMNS",
    "FORMATS",
    "LEADERBOARD_METRICS",
    "ORACLE_METHOD",
    "STAT_SUFFIXES",
    "add_gap",
    "build",
    "display_columns",
    "finite_number",
    "format_number",
    "from_store",
    "oracle_value",
    "register_case_columns",
    "render",
    "run_state",
    "shown_columns",
    "split_columns",
]

#: Optional column of the oracle's rows: a certified lower bound on the day's cost ($), which
#: the gap and the bound check use instead of the oracle's cost where it is finite.
BOUND_COLUMN: Final[str] = "certified_bound"
#: The method whose cost is the denominator of the gap.
ORACLE_METHOD: Final[str] = "oracle"
#: Metrics aggregated for every entry (DESIGN §3), in output order.
#: Row columns a case adds and the leaderboard summarizes like its own metrics: cost terms,
#: a game's players' profits and regrets, the referee's day KPIs (``metrics.day_metrics``).
CASE_METRIC_PREFIXES: Final[tuple[str, ...]] = ("cost_", "profit_", "regret_", "kpi_")

LEADERBOARD_METRICS: Final[tuple[str, ...]] = (
    "cost",
    "gap",
    "emissions_t",
    "soc_dev_max",
    "soc_dev_end",
    "tie_mse",
    "viol_voltage_puh",
    "viol_soc",
    "viol_line",
    "viol_balance",
    "decision_ms_p50",
    "decision_ms_p95",
    "plan_ms",
    "compute_ms_per_decision",
    "fit_s",
    "solve_s",
    "reward_sum",
)
#: Suffixes of the statistics next to each metric's IQM.
STAT_SUFFIXES: Final[tuple[str, ...]] = ("_lo", "_hi", "_mean", "_std")
#: Output formats.
FORMATS: Final[tuple[str, ...]] = ("md", "csv", "json")
_BUDGET_RANK: Final[dict[str, int]] = {b.value: i for i, b in enumerate(Budget)}
_TINY: Final[float] = 1e-12


def _ok(frame: pd.DataFrame) -> pd.Series:
    if "status" not in frame:
        return frame["case"].notna()
    return frame["status"].fillna("") == "ok"


def _feasible(frame: pd.DataFrame) -> pd.Series:
    feasible = frame["feasible"] if "feasible" in frame else frame["case"].notna()
    return _ok(frame) & feasible.fillna(False).astype(bool)


def oracle_value(oracle: pd.DataFrame) -> np.ndarray:
    """What the oracle's rows stand for: their :data:`BOUND_COLUMN` (a certified lower bound
    on the day's cost, e.g. the MIP dual bound of a model whose cost under-estimates the
    referee's) where it is finite, else their ``cost`` (an oracle whose model prices the day as
    the referee does)."""
    cost = oracle["cost"].to_numpy(dtype=float)
    if BOUND_COLUMN not in oracle:
        return cost
    bound = oracle[BOUND_COLUMN].to_numpy(dtype=float)
    return np.where(np.isfinite(bound), bound, cost)


def add_gap(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a ``gap`` column: per row, against the oracle's mean ``ok``
    :func:`oracle_value` (its certified bound where it has one, else its cost) on the same
    case and day (NaN without one, or when that is 0)."""
    out = frame.copy()
    cost = out["cost"].astype(float) if "cost" in out else np.nan
    oracle = out[(out["method"] == ORACLE_METHOD) & _ok(out)]
    if oracle.empty or "cost" not in out:
        out["gap"] = np.nan
        return out
    ref = (oracle[["case", "day"]].assign(_oracle_cost=oracle_value(oracle))
           .groupby(["case", "day"])["_oracle_cost"].mean().reset_index())
    merged = out[["case", "day"]].merge(ref, on=["case", "day"], how="left")
    oc = merged["_oracle_cost"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = (np.asarray(cost, dtype=float) - oc) / np.abs(oc)
    gap[~(np.abs(oc) > _TINY)] = np.nan
    gap[~_ok(out).to_numpy()] = np.nan
    out["gap"] = gap
    return out


def _highest_budget(frame: pd.DataFrame) -> pd.DataFrame:
    rank = frame["budget"].map(lambda b: _BUDGET_RANK.get(str(b), -1))
    best = rank.groupby([frame["case"], frame["method"]]).transform("max")
    return frame[rank == best]


def finite_number(value: Any) -> float | None:
    """``float(value)`` when it is a finite number, else ``None`` (for display)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _sum_column(group: pd.DataFrame, column: str) -> int:
    if column not in group:
        return 0
    values = group[column].astype(float).to_numpy()
    return int(np.nansum(values))


def _completeness(
    group: pd.DataFrame, asked: int, failed_seeds: Sequence[int]
) -> tuple[bool, int]:
    """``(complete, days stored of the least complete seed)``: every seed has a row on each
    of the ``asked`` days and no unit of the entry has a recorded failure."""
    per_seed = group.groupby("seed")["day"].nunique()
    least = int(per_seed.min()) if len(per_seed) else 0
    return (least >= asked and not failed_seeds), least


def _failed_units(
    failures: Sequence[FailureRecord], case_id: str, method: str, budget: str | None
) -> list[int]:
    return sorted(
        f.unit.seed
        for f in failures
        if f.unit.case == case_id
        and f.unit.method == method
        and (budget is None or f.unit.budget == budget)
    )


def _failed_only_entries(
    df: pd.DataFrame, failures: Sequence[FailureRecord], asked: Mapping[str, int]
) -> list[dict[str, Any]]:
    """An entry for every (case, method) with recorded failures and no row: it failed as a
    whole (``fit`` raised, the process died) and is listed, unranked by cost, last."""
    present = set(zip(df["case"], df["method"], strict=True))
    out: list[dict[str, Any]] = []
    for key in sorted({(f.unit.case, f.unit.method) for f in failures}):
        if key in present or key[0] not in asked:
            continue
        seeds = _failed_units(failures, key[0], key[1], None)
        out.append(
            {
                "case": key[0],
                "method": key[1],
                "family": "",
                "n_seeds": 0,
                "n_days": 0,
                "feasible": False,
                "complete": False,
                "days_asked": asked[key[0]],
                "units_failed": len(seeds),
                "rank": None,
                "budget": "",
                "split": "",
                "feasible_frac": 0.0,
                "n_rows": 0,
                "n_failed": 0,
                "action_nonfinite": 0,
                "action_clipped": 0,
            }
        )
    return out


def _selected_rows(frame: pd.DataFrame, case: str | None, split: str | None) -> pd.DataFrame:
    """The rows of ``case`` (``None``: every case) on ``split`` (``None``: every split)."""
    df = frame
    if case is not None:
        df = df[df["case"] == case]
    if split is not None and "split" in df:
        df = df[df["split"] == split]
    return df


def _per_seed_means(df: pd.DataFrame, ok: pd.Series, metrics: list[str]) -> pd.DataFrame:
    """Each metric's mean over the days of each (case, method, seed); a failed day has no
    metrics (NaN, left out of the mean)."""
    values = df.reindex(columns=metrics).apply(lambda s: s.astype(float))
    values.loc[~ok] = np.nan  # a failed day has no metrics
    return (
        values.assign(case=df["case"], method=df["method"], seed=df["seed"])
        .groupby(["case", "method", "seed"])[metrics]
        .mean()
    )


def _family_of(group: pd.DataFrame, method: str) -> str:
    """The method's family: ``bound`` for the oracle, else the most frequent in its rows."""
    families = group["family"].dropna() if "family" in group else group["method"][:0]
    return (
        MethodFamily.BOUND.value
        if method == ORACLE_METHOD
        else (str(families.mode().iloc[0]) if len(families) else "")
    )


def _metric_summaries(
    seeds: pd.DataFrame | None, metrics: list[str], reps: int, seed: int
) -> dict[str, float]:
    """IQM, its interval, mean and std over the seeds of each metric (``metric``,
    ``metric_lo``/``_hi``, ``metric_mean``/``_std``); a cost term no seed has is left out."""
    summaries: dict[str, float] = {}
    for metric in metrics:
        column = seeds[metric].to_numpy(dtype=float) if seeds is not None else np.array([])
        if metric.startswith(CASE_METRIC_PREFIXES) and not np.isfinite(column).any():
            continue  # a cost term (or a player) of another case
        s = summarize(column, reps=reps, seed=seed)
        summaries[metric] = s.iqm
        summaries[f"{metric}_lo"], summaries[f"{metric}_hi"] = s.lo, s.hi
        summaries[f"{metric}_mean"], summaries[f"{metric}_std"] = s.mean, s.std
    return summaries


def _add_row_counts(
    entry: dict[str, Any],
    group: pd.DataFrame,
    ok: pd.Series,
    feasible: pd.Series,
    days_asked: int,
    failures: Sequence[FailureRecord],
) -> None:
    """The entry's budget, split, feasible fraction, row and failure counts, completeness and
    projected action entries (after its metrics)."""
    entry["rank"] = None
    entry["budget"] = str(group["budget"].iloc[0])
    entry["split"] = (
        ",".join(sorted(group["split"].dropna().astype(str).unique()))
        if "split" in group
        else ""
    )
    entry["feasible_frac"] = float(feasible[group.index].mean())
    entry["n_rows"] = len(group)
    entry["n_failed"] = int((~ok[group.index]).sum())
    failed_seeds = _failed_units(
        failures, str(entry["case"]), str(entry["method"]), entry["budget"]
    )
    complete, least = _completeness(group, days_asked, failed_seeds)
    entry["complete"] = complete
    entry["days_asked"] = days_asked
    entry["days_least"] = least
    entry["units_failed"] = len(failed_seeds)
    entry["action_nonfinite"] = _sum_column(group, "action_nonfinite")
    entry["action_clipped"] = _sum_column(group, "action_clipped")


def build(
    frame: pd.DataFrame,
    *,
    case: str | None = None,
    split: str | None = "test",
    reps: int = DEFAULT_REPS,
    seed: int = 0,
    failures: Sequence[FailureRecord] = (),
) -> list[dict[str, Any]]:
    """The leaderboard entries of the rows in ``frame`` (see the module docstring).

    ``split=None`` keeps every split. Entries are ordered by case, then rank (bounds last).
    Values are Python floats (NaN where undefined), ints, bools and strings. ``failures``
    (the store's :meth:`~gridbench.benchmarks.store.ResultsStore.failures`) mark the units
    that failed: their entries are incomplete, and a method that failed without a row is
    listed too.
    """
    if frame.empty:
        return []
    df = _selected_rows(frame, case, split)
    if df.empty:
        return []
    df = add_gap(with_compute_columns(_highest_budget(df)))
    asked = {str(c): int(g["day"].nunique()) for c, g in df.groupby("case")}
    ok = _ok(df)
    feasible = _feasible(df)
    # the case's cost terms and, in a game, each player's profit
    terms = sorted(c for c in df.columns if c.startswith(CASE_METRIC_PREFIXES))
    metrics = [*LEADERBOARD_METRICS, *terms]  # every metric, NaN where no row has it
    per_seed = _per_seed_means(df, ok, metrics)

    entries: list[dict[str, Any]] = []
    for (case_id, method), group in df.groupby(["case", "method"], sort=True):
        seeds = per_seed.loc[(case_id, method)] if (case_id, method) in per_seed.index else None
        entry: dict[str, Any] = {
            "case": case_id,
            "method": method,
            "family": _family_of(group, method),
            "n_seeds": int(group["seed"].nunique()),
            "n_days": int(group["day"].nunique()),
            "feasible": bool(feasible[group.index].all()),
        }
        entry.update(_metric_summaries(seeds, metrics, reps, seed))
        _add_row_counts(entry, group, ok, feasible, asked[str(case_id)], failures)
        entries.append(entry)
    entries += _failed_only_entries(df, failures, asked)
    return _rank(entries)


def _rank(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for case_id in sorted({e["case"] for e in entries}):
        mine = [e for e in entries if e["case"] == case_id]
        bounds = [e for e in mine if e["family"] == MethodFamily.BOUND.value]
        rivals = [e for e in mine if e["family"] != MethodFamily.BOUND.value]

        def key(e: dict[str, Any]) -> tuple[bool, bool, bool, float, str]:
            cost = e.get("cost", math.nan)
            missing = cost is None or not math.isfinite(cost)
            incomplete = not e.get("complete", True)
            return (incomplete, not e["feasible"], missing, 0.0 if missing else cost, e["method"])

        rivals.sort(key=key)
        for i, e in enumerate(rivals, start=1):
            e["rank"] = i
        out += rivals + sorted(bounds, key=lambda e: e["method"])
    return out


def from_store(
    store: ResultsStore, *, case: str | None = None, split: str | None = "test"
) -> list[dict[str, Any]]:
    """:func:`build` over the rows of ``store`` (``ResultsNotFound`` when it holds none)."""
    return build(store.frame(case=case), case=case, split=split, failures=store.failures())


# --------------------------------------------------------------------------- rendering


def _json_ready(entry: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in entry.items():
        if isinstance(value, float):
            out[key] = finite_number(value)
        elif isinstance(value, np.generic):
            out[key] = value.item()
        else:
            out[key] = value
    return out


#: Below this magnitude a displayed number is round-off of an exact zero: shown as ``0``.
ZERO_DISPLAY: Final[float] = 1e-9
#: Below this magnitude (and above :data:`ZERO_DISPLAY`) a number is shown as ``<0.001``.
SMALL_DISPLAY: Final[float] = 1e-3


def format_number(value: Any, digits: int = 5) -> str:
    """``value`` for a table, by magnitude: ``digits`` significant digits in fixed notation
    (never ``1e+06`` or ``7.858e-18``), ``0`` for round-off below :data:`ZERO_DISPLAY`,
    ``<0.001`` for what is smaller than :data:`SMALL_DISPLAY`, ``–`` when not a number.
    The JSON and CSV formats keep every digit."""
    number = finite_number(value)
    if number is None:
        return "–"
    size = abs(number)
    if size < ZERO_DISPLAY:
        return "0"
    if size < SMALL_DISPLAY:
        return "<0.001" if number > 0 else ">-0.001"
    decimals = max(0, digits - 1 - math.floor(math.log10(size)))
    text = f"{number:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _pct(value: Any) -> str:
    number = finite_number(value)
    return "–" if number is None else f"{100.0 * number:+.2f} %"


#: Metric columns shown after cost and gap in the Markdown leaderboard and the report.
DISPLAY_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("emissions_t", "CO2 t"),
    ("soc_dev_end", "SOC dev end"),
    ("tie_mse", "tie MSE MW²"),
    ("viol_voltage_puh", "V viol pu·h"),
    ("decision_ms_p50", "decide ms p50"),
    ("plan_ms", "plan ms"),
    ("compute_ms_per_decision", "ms/decision incl. plan"),
    ("fit_s", "fit s"),
)


#: Extra columns per case-id prefix (a case's benchmarks-side module registers them, e.g.
#: the SGLS paper's cost breakdown of its Tables 3, 4 and 6).
_CASE_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {}


def register_case_columns(case_prefix: str, columns: Sequence[tuple[str, str]]) -> None:
    """Show ``columns`` (``(metric, label)``; cost terms are ``cost_<term>``) after the common
    ones for every case whose id starts with ``case_prefix``. A second, different
    registration for the same prefix is an error."""
    cols = tuple((str(k), str(label)) for k, label in columns)
    old = _CASE_COLUMNS.get(case_prefix)
    if old is not None and old != cols:
        raise ValueError(f"leaderboard columns for {case_prefix}* registered twice: {old} / {cols}")
    _CASE_COLUMNS[case_prefix] = cols


def display_columns(case_id: str) -> tuple[tuple[str, str], ...]:
    """:data:`DISPLAY_COLUMNS` plus the columns registered for ``case_id``'s prefix."""
    import gridbench.benchmarks.report.figures  # noqa: F401  (per-case modules register columns)

    extra = [cols for prefix, cols in _CASE_COLUMNS.items() if case_id.startswith(prefix)]
    shown = [key for key, _ in DISPLAY_COLUMNS]
    return DISPLAY_COLUMNS + tuple(c for cols in extra for c in cols if c[0] not in shown)


def shown_columns(
    case_id: str, entries: Sequence[Mapping[str, Any]]
) -> tuple[tuple[str, str], ...]:
    """:func:`display_columns` of ``case_id`` without those that are zero (or missing) for
    every entry: a CO2 column of zeros on a carbon-free case says nothing."""
    def informative(key: str) -> bool:
        values = [finite_number(e.get(key)) for e in entries]
        return any(v is not None and abs(v) >= ZERO_DISPLAY for v in values)

    return tuple((key, label) for key, label in display_columns(case_id) if informative(key))


#: Columns of a case's own (registered) metrics per extra table.
EXTRA_PER_TABLE: Final[int] = 8


def split_columns(
    case_id: str, entries: Sequence[Mapping[str, Any]]
) -> tuple[tuple[tuple[str, str], ...], list[tuple[tuple[str, str], ...]]]:
    """``(common, extra)``: the :func:`shown_columns` of :data:`DISPLAY_COLUMNS` for the main
    table, and the case's own columns in chunks of :data:`EXTRA_PER_TABLE` for tables of
    their own (a 24-column table does not fit a page)."""
    shown = shown_columns(case_id, entries)
    common_keys = {key for key, _ in DISPLAY_COLUMNS}
    common = tuple(c for c in shown if c[0] in common_keys)
    rest = [c for c in shown if c[0] not in common_keys]
    chunks = [tuple(rest[i : i + EXTRA_PER_TABLE]) for i in range(0, len(rest), EXTRA_PER_TABLE)]
    return common, chunks


def run_state(entry: Mapping[str, Any]) -> str:
    """``ok``, or what makes the entry incomplete or suspect: failed units, days missing,
    non-finite actions (one short cell)."""
    parts: list[str] = []
    failed = int(entry.get("units_failed", 0) or 0)
    if failed:
        parts.append(f"{failed} unit(s) failed")
    asked = entry.get("days_asked")
    least = entry.get("days_least", entry.get("n_days"))
    if asked is not None and least is not None and least < asked:
        parts.append(f"{least}/{asked} days")
    nonfinite = int(entry.get("action_nonfinite", 0) or 0)
    if nonfinite:
        parts.append(f"{nonfinite} non-finite actions")
    return "; ".join(parts) if parts else "ok"


def _markdown(entries: Sequence[Mapping[str, Any]]) -> str:
    if not entries:
        return "no results to rank\n"
    lines: list[str] = []
    for case_id in dict.fromkeys(e["case"] for e in entries):
        mine = [e for e in entries if e["case"] == case_id]
        lines.append(f"## {case_id}")
        lines.append("")
        head = ["rank", "method", "family", "budget", "seeds", "days", "feasible", "runs"]
        columns, extra = split_columns(case_id, mine)
        head += ["cost $ IQM [95% CI]", "gap"] + [label for _, label in columns]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join("---" for _ in head) + "|")
        for e in mine:
            feasible = "yes" if e["feasible"] else f"no ({100.0 * e['feasible_frac']:.0f} % ok)"
            lo, hi = format_number(e.get("cost_lo")), format_number(e.get("cost_hi"))
            cost = f"{format_number(e.get('cost'))} [{lo}, {hi}]"
            cells = [
                "—" if e["rank"] is None else str(e["rank"]),
                e["method"],
                e["family"],
                e["budget"],
                str(e["n_seeds"]),
                str(e["n_days"]),
                feasible,
                run_state(e),
                cost,
                _pct(e.get("gap")),
            ]
            cells += [format_number(e.get(key), 4) for key, _ in columns]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        for chunk in extra:  # the case's own columns, a table of at most EXTRA_PER_TABLE
            head = ["method"] + [label for _, label in chunk]
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "|".join("---" for _ in head) + "|")
            for e in mine:
                cells = [e["method"]] + [format_number(e.get(key), 4) for key, _ in chunk]
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
    lines.append(
        "IQM over seeds of each seed's mean over the days, 95 % stratified-bootstrap interval; "
        "gap against the oracle on the same day; incomplete methods (a failed unit, or a seed "
        "missing some of the days the case's other methods ran: `runs`) rank after complete "
        "ones, infeasible after feasible; a day on which the controller sent non-finite "
        "actions counts as failed; the oracle is a bound, not ranked. `decide ms p50`: the "
        "median time of one decision (act); `plan ms`: the controller's reset per day, where "
        "planners compute their plan; `ms/decision incl. plan`: (plan + every act) / the "
        "day's decisions."
    )
    return "\n".join(lines) + "\n"


def _csv(entries: Sequence[Mapping[str, Any]]) -> str:
    import pandas as pd

    if not entries:
        return ""
    columns = list(dict.fromkeys(key for e in entries for key in e))
    buffer = io.StringIO()
    pd.DataFrame([_json_ready(e) for e in entries], columns=columns).to_csv(buffer, index=False)
    return buffer.getvalue()


def render(entries: Sequence[Mapping[str, Any]], fmt: str = "md") -> str:
    """``entries`` as ``md``, ``csv`` or ``json`` text (see the module docstring)."""
    if fmt == "md":
        return _markdown(entries)
    if fmt == "csv":
        return _csv(entries)
    if fmt == "json":
        return json.dumps([_json_ready(e) for e in entries], indent=2) + "\n"
    raise ValueError(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
