"""The answer: when does RL beat mathematical programming, and by how much (per case)?

Per case, from the leaderboard entries (:mod:`gridbench.benchmarks.leaderboard`) and the rows
they were built from:

* the *best solver*: among the complete entries of family ``solver`` (every seed ran every
  day the case asked), feasible ones first, then the lowest IQM cost (the leaderboard's
  order); the *best RL agent*: the same among the entries of family ``rl``;
* each one's gap to the oracle, ``gap`` = IQM over seeds of the per-seed mean over the days
  of ``(cost − B) / |B|``, ``B`` the oracle's cost or its certified bound where its row has
  one (:func:`~gridbench.benchmarks.leaderboard.oracle_value`), with its 95 %
  stratified-bootstrap interval (``gap_lo``, ``gap_hi``);
* the days on which RL beats the solver: on each day ``d`` both have ``ok`` rows (the
  entry's split and budget), ``c_RL(d)`` = the **mean** over the RL agent's seeds of its cost
  on ``d`` (:data:`DAY_STATISTIC`), ``c_S(d)`` the solver's (mean over its seeds, usually
  one); RL beats it on ``d`` when ``c_RL(d) < c_S(d)``;
* compute per decision, ms: the entry's ``compute_ms_per_decision`` (plan in ``reset`` plus
  every ``act``, over the day's decisions; :mod:`gridbench.benchmarks.compute_cost`), derived
  from the rows where the entry lacks it;
* the verdict: programming wins when the solver's interval lies wholly below the RL agent's
  (``gap_hi(S) < gap_lo(RL)``), RL wins in the mirror case, neither clearly otherwise; on
  the cost intervals instead where a gap is missing (no oracle rows). One generated sentence
  per case, and one over all cases.

:func:`build_answer` computes the typed :class:`Answer`; :func:`render_markdown` and
:func:`render_html` render it (the report opens with it); :func:`replace_block` puts the
Markdown between the README's markers. CLI::

    python -m gridbench.benchmarks.answer --results DIR [--readme README.md]

prints the Markdown and, with ``--readme``, writes it between ``<!-- answer:start -->`` and
``<!-- answer:end -->`` (one-line error, exit status 2, when the markers are missing).
"""

from __future__ import annotations

import argparse
import html
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from gridbench.benchmarks.leaderboard import finite_number, format_number
from gridbench.cases.contracts import MethodFamily

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DAY_STATISTIC",
    "END_MARKER",
    "HEADING",
    "START_MARKER",
    "Answer",
    "CaseAnswer",
    "Contender",
    "Outcome",
    "build_answer",
    "main",
    "render_html",
    "render_markdown",
    "replace_block",
]

#: How the RL agent's seeds make one cost per day in the per-day comparison.
DAY_STATISTIC: Final[str] = "mean"
#: Markers of the generated block in README.md.
START_MARKER: Final[str] = "<!-- answer:start -->"
END_MARKER: Final[str] = "<!-- answer:end -->"
#: Heading of the answer in the report.
HEADING: Final[str] = "When does RL beat mathematical programming, and by how much?"


class Outcome(StrEnum):
    """Who wins a case (see the module docstring)."""

    PROGRAMMING = "programming"
    RL = "rl"
    NEITHER = "neither"
    NO_RL = "no-rl"
    NO_SOLVER = "no-solver"
    NO_RESULTS = "no-results"


@dataclass(frozen=True, slots=True)
class Contender:
    """The best entry of one family on one case: gap and cost (IQM, 95 % interval; NaN where
    undefined) and compute per decision (ms; NaN when unknown)."""

    method: str
    family: str
    gap: float
    gap_lo: float
    gap_hi: float
    cost: float
    cost_lo: float
    cost_hi: float
    n_seeds: int
    n_days: int
    compute_ms: float


@dataclass(frozen=True, slots=True)
class CaseAnswer:
    """The answer on one case: the two contenders, the days on which RL beats the solver
    (``rl_wins`` of ``days_compared``), the outcome, the basis of the verdict (``gap`` or
    ``cost``) and its sentence."""

    case: str
    solver: Contender | None
    rl: Contender | None
    rl_wins: int
    days_compared: int
    outcome: Outcome
    basis: str
    sentence: str

    @property
    def rl_share(self) -> float:
        """``rl_wins / days_compared`` (NaN without a compared day)."""
        return self.rl_wins / self.days_compared if self.days_compared else math.nan


@dataclass(frozen=True, slots=True)
class Answer:
    """Every case's answer and the sentence over all of them."""

    cases: tuple[CaseAnswer, ...]
    overall: str


def _float(entry: Mapping[str, Any], key: str) -> float:
    value = finite_number(entry.get(key))
    return math.nan if value is None else value


def _best(entries: Sequence[Mapping[str, Any]], family: MethodFamily) -> Mapping[str, Any] | None:
    """The complete entry of ``family`` first in the leaderboard's order: feasible first,
    then the lowest IQM cost, then the name."""
    pool = [
        e
        for e in entries
        if e.get("family") == family.value
        and e.get("complete", True)
        and finite_number(e.get("cost")) is not None
    ]
    if not pool:
        return None
    return min(pool, key=lambda e: (not e.get("feasible", False), float(e["cost"]), e["method"]))


def _rows(frame: pd.DataFrame, entry: Mapping[str, Any]) -> pd.DataFrame:
    """The ``ok`` rows with a finite cost an entry was built from (its split and budget)."""
    df = frame[(frame["case"] == entry["case"]) & (frame["method"] == entry["method"])]
    if "budget" in df and entry.get("budget"):
        df = df[df["budget"].astype(str) == str(entry["budget"])]
    splits = [s for s in str(entry.get("split") or "").split(",") if s]
    if splits and "split" in df:
        df = df[df["split"].astype(str).isin(splits)]
    if "status" in df:
        df = df[df["status"].fillna("") == "ok"]
    return df[df["cost"].astype(float).notna()]


def _compute_ms(entry: Mapping[str, Any], rows: pd.DataFrame) -> float:
    value = finite_number(entry.get("compute_ms_per_decision"))
    if value is None and not rows.empty:
        from gridbench.benchmarks.compute_cost import with_compute_columns

        value = finite_number(with_compute_columns(rows)["compute_ms_per_decision"].mean())
    return math.nan if value is None else value


def _contender(entry: Mapping[str, Any], rows: pd.DataFrame) -> Contender:
    return Contender(
        method=str(entry["method"]),
        family=str(entry["family"]),
        gap=_float(entry, "gap"),
        gap_lo=_float(entry, "gap_lo"),
        gap_hi=_float(entry, "gap_hi"),
        cost=_float(entry, "cost"),
        cost_lo=_float(entry, "cost_lo"),
        cost_hi=_float(entry, "cost_hi"),
        n_seeds=int(entry.get("n_seeds", 0) or 0),
        n_days=int(entry.get("n_days", 0) or 0),
        compute_ms=_compute_ms(entry, rows),
    )


def _day_costs(rows: pd.DataFrame) -> pd.Series:
    """Cost per day: the :data:`DAY_STATISTIC` over the seeds."""
    return (
        rows.assign(day=rows["day"].astype(str), cost=rows["cost"].astype(float))
        .groupby("day")["cost"]
        .agg(DAY_STATISTIC)
    )


def _basis(solver: Contender, rl: Contender) -> str:
    values = (solver.gap_lo, solver.gap_hi, rl.gap_lo, rl.gap_hi)
    return "gap" if all(math.isfinite(v) for v in values) else "cost"


def _outcome(solver: Contender, rl: Contender, basis: str) -> Outcome:
    s_lo, s_hi = getattr(solver, f"{basis}_lo"), getattr(solver, f"{basis}_hi")
    r_lo, r_hi = getattr(rl, f"{basis}_lo"), getattr(rl, f"{basis}_hi")
    if s_hi < r_lo:
        return Outcome.PROGRAMMING
    if r_hi < s_lo:
        return Outcome.RL
    return Outcome.NEITHER


def _pct(share: float, *, sign: bool = False) -> str:
    """``share`` in per cent, 3 significant digits, at most 4 decimals (``0.419``, ``22.1``,
    ``405``, ``-0.0005``; ``0`` below 0.00005 %); ``–`` when not a number."""
    if not math.isfinite(share):
        return "–"
    x = 100.0 * share
    if abs(x) < 5e-5:
        return "0"
    decimals = min(4, max(0, 2 - math.floor(math.log10(abs(x)))))
    return f"{x:+.{decimals}f}" if sign else f"{x:.{decimals}f}"


def _level(c: Contender, basis: str, *, first: bool) -> str:
    """``is 0.419 % above the oracle [0.419, 0.419]``, or ``costs 2,824.9 $ [.., ..]`` on the
    cost basis (a gap is missing); after the first mention without the verb and ``… above
    it``: ``0.419 % above it [0.419, 0.419]``, ``2,824.9 $ [.., ..]``."""
    if basis == "gap" and math.isfinite(c.gap):
        side = "above" if c.gap >= 0 else "below"
        whom = "the oracle" if first else "it"
        interval = f"[{_pct(c.gap_lo)}, {_pct(c.gap_hi)}]"
        text = f"{_pct(abs(c.gap))} % {side} {whom} {interval}"
        return f"is {text}" if first else text
    text = f"{format_number(c.cost)} $ [{format_number(c.cost_lo)}, {format_number(c.cost_hi)}]"
    return f"costs {text}" if first else text


def _ms(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{format_number(value, 3)} ms"


def _sentence(
    case_id: str,
    solver: Contender | None,
    rl: Contender | None,
    outcome: Outcome,
    basis: str,
    wins: int,
    days: int,
) -> str:
    if solver is None and rl is None:
        return f"On {case_id} neither a complete solver nor a complete RL agent has results."
    if rl is None and solver is not None:
        return (
            f"On {case_id} only programming has results: {solver.method} "
            f"{_level(solver, 'gap', first=True)}; no complete RL agent."
        )
    if solver is None and rl is not None:
        return (
            f"On {case_id} only RL has results: the best RL agent {rl.method} "
            f"{_level(rl, 'gap', first=True)}; no complete solver."
        )
    assert solver is not None and rl is not None  # narrowed above (for the type checker)
    lead = {
        Outcome.PROGRAMMING: "programming wins",
        Outcome.RL: "RL wins",
        Outcome.NEITHER: "neither wins clearly (the 95 % intervals overlap)",
    }[outcome]
    on_days = (
        f"RL beats {solver.method} on {wins} of {days} days"
        if days
        else f"no day on which both {rl.method} and {solver.method} ran"
    )
    return (
        f"On {case_id} {lead}: {solver.method} {_level(solver, basis, first=True)}, the best "
        f"RL agent {rl.method} {_level(rl, basis, first=False)}; {on_days}, at "
        f"{_ms(rl.compute_ms)} per decision against {_ms(solver.compute_ms)}."
    )


def _case_answer(
    frame: pd.DataFrame, case_id: str, entries: Sequence[Mapping[str, Any]]
) -> CaseAnswer:
    best_s, best_r = _best(entries, MethodFamily.SOLVER), _best(entries, MethodFamily.RL)
    rows_s = _rows(frame, best_s) if best_s is not None else frame[:0]
    rows_r = _rows(frame, best_r) if best_r is not None else frame[:0]
    solver = _contender(best_s, rows_s) if best_s is not None else None
    rl = _contender(best_r, rows_r) if best_r is not None else None
    wins = days = 0
    basis = "gap"
    if solver is not None and rl is not None:
        both = _day_costs(rows_r).to_frame("rl").join(_day_costs(rows_s).to_frame("s"), how="inner")
        days = len(both)
        wins = int((both["rl"] < both["s"]).sum())
        basis = _basis(solver, rl)
        outcome = _outcome(solver, rl, basis)
    elif solver is not None:
        outcome = Outcome.NO_RL
    elif rl is not None:
        outcome = Outcome.NO_SOLVER
    else:
        outcome = Outcome.NO_RESULTS
    sentence = _sentence(case_id, solver, rl, outcome, basis, wins, days)
    return CaseAnswer(case_id, solver, rl, wins, days, outcome, basis, sentence)


def _listed(cases: Sequence[CaseAnswer]) -> str:
    return f" ({', '.join(c.case for c in cases)})" if cases else ""


def _overall(cases: Sequence[CaseAnswer]) -> str:
    if not cases:
        return "No case has results yet."
    by = {o: [c for c in cases if c.outcome is o] for o in Outcome}
    n = len(cases)
    head = (
        f"Over {n} case{'s' if n != 1 else ''} programming wins on "
        f"{len(by[Outcome.PROGRAMMING])}{_listed(by[Outcome.PROGRAMMING])}, RL on "
        f"{len(by[Outcome.RL])}{_listed(by[Outcome.RL])} and neither clearly on "
        f"{len(by[Outcome.NEITHER])}{_listed(by[Outcome.NEITHER])}"
    )
    lacking = [
        c for c in cases if c.outcome in (Outcome.NO_RL, Outcome.NO_SOLVER, Outcome.NO_RESULTS)
    ]
    if lacking:
        verb = "lacks" if len(lacking) == 1 else "lack"
        head += f"; {len(lacking)} {verb} a complete solver or RL agent{_listed(lacking)}"
    wins = sum(c.rl_wins for c in cases)
    days = sum(c.days_compared for c in cases)
    if days:
        head += (
            f"; the best RL agent beats the best solver on {wins} of {days} case-days "
            f"({100.0 * wins / days:.1f} %)"
        )
    return head + "."


def build_answer(frame: pd.DataFrame, entries: Sequence[Mapping[str, Any]]) -> Answer:
    """The :class:`Answer` of the leaderboard ``entries`` (every case's, as
    :func:`~gridbench.benchmarks.leaderboard.build` gives them) and the rows ``frame`` they
    were built from; cases in the order of their id."""
    case_ids = sorted({str(e["case"]) for e in entries})
    cases = tuple(
        _case_answer(frame, c, [e for e in entries if str(e["case"]) == c]) for c in case_ids
    )
    return Answer(cases, _overall(cases))


# --------------------------------------------------------------------------- rendering

_HEAD: Final[tuple[str, ...]] = (
    "case",
    "best solver",
    "gap to oracle [95 % CI]",
    "ms/decision",
    "best RL agent",
    "gap to oracle [95 % CI]",
    "ms/decision",
    "days RL beats the solver",
    "verdict",
)


def _gap_cell(c: Contender | None) -> str:
    if c is None or not math.isfinite(c.gap):
        return "–"
    lo, hi = _pct(c.gap_lo, sign=True), _pct(c.gap_hi, sign=True)
    return f"{_pct(c.gap, sign=True)} % [{lo}, {hi}]"


def _cells(a: CaseAnswer) -> list[str]:
    share = (
        f"{a.rl_wins} / {a.days_compared} ({100.0 * a.rl_share:.0f} %)" if a.days_compared else "–"
    )
    return [
        a.case,
        a.solver.method if a.solver else "–",
        _gap_cell(a.solver),
        _ms(a.solver.compute_ms) if a.solver else "–",
        a.rl.method if a.rl else "–",
        _gap_cell(a.rl),
        _ms(a.rl.compute_ms) if a.rl else "–",
        share,
        a.outcome.value,
    ]


#: How the numbers are made (the last paragraph of the section).
NOTES: Final[str] = (
    "Best solver / RL agent: the complete entry of the family first in the leaderboard's "
    "order (feasible first, then the lowest IQM cost: an entry with one infeasible row, e.g. "
    "a voltage violation on one day of one seed, ranks below every entry without one, "
    "whatever its cost). Gap: IQM over seeds of the per-seed "
    "mean over the test days of (cost − oracle) / |oracle|, where \"oracle\" is the "
    "oracle's cost or, where its row carries one, its certified lower bound (SGLS IEEE 30: "
    "the MIP bound under tangent-cut thermal costs); 95 % stratified-bootstrap "
    "interval (one seed: the interval is the point). Days RL beats the solver: days on which "
    f"the {DAY_STATISTIC} of the RL agent's seeds' costs is below the solver's cost. "
    "ms/decision: (plan in reset + every act) / the day's decisions. Verdict: programming "
    "or RL wins when its interval lies wholly below the other's, neither otherwise."
)


def render_markdown(answer: Answer, *, heading: str | None = HEADING) -> str:
    """The answer as Markdown: the overall sentence, a table, one sentence per case, how the
    numbers are made. ``heading`` (a ``##`` heading) is left out when ``None``."""
    lines = [f"## {heading}", ""] if heading else []
    lines += [f"**{answer.overall}**", ""]
    lines.append("| " + " | ".join(_HEAD) + " |")
    lines.append("|" + "|".join("---" for _ in _HEAD) + "|")
    lines += ["| " + " | ".join(_cells(a)) + " |" for a in answer.cases]
    lines.append("")
    lines += [f"- {a.sentence}" for a in answer.cases]
    lines += ["", f"*{NOTES}*"]
    return "\n".join(lines) + "\n"


def render_html(answer: Answer, *, heading: str = HEADING) -> str:
    """The answer as an HTML fragment (the same content as :func:`render_markdown`)."""
    e = html.escape
    parts = [f"<h2>{e(heading)}</h2>", f"<p><b>{e(answer.overall)}</b></p>", "<table>"]
    parts.append("<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in _HEAD) + "</tr></thead>")
    parts.append("<tbody>")
    for a in answer.cases:
        parts.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in _cells(a)) + "</tr>")
    parts.append("</tbody></table>")
    parts.append("<ul>" + "".join(f"<li>{e(a.sentence)}</li>" for a in answer.cases) + "</ul>")
    parts.append(f"<p><i>{e(NOTES)}</i></p>")
    return "\n".join(parts) + "\n"


def replace_block(text: str, block: str, *, name: str = "README.md",
                  start: str = START_MARKER, end: str = END_MARKER) -> str:
    """``text`` with everything between the ``start`` line (default :data:`START_MARKER`) and
    the ``end`` line (:data:`END_MARKER`) replaced by ``block`` (idempotent). ``ValueError``
    (one line) unless each marker occurs once, the start before the end."""
    starts, ends = text.count(start), text.count(end)
    if starts != 1 or ends != 1 or text.index(start) > text.index(end):
        raise ValueError(
            f"{name} needs one {start} line before one {end} line (found "
            f"{starts} and {ends}); add them where the block goes"
        )
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{block.strip()}\n{end}{tail}"


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI (see the module docstring); returns the exit status."""
    from gridbench.benchmarks.leaderboard import from_store
    from gridbench.benchmarks.store import ResultsStore

    parser = argparse.ArgumentParser(
        prog="python -m gridbench.benchmarks.answer",
        description="When does RL beat mathematical programming, and by how much?",
    )
    parser.add_argument("--results", required=True, type=Path, help="results directory")
    parser.add_argument("--readme", type=Path, help="write the answer between its markers")
    args = parser.parse_args(argv)
    results: Path = args.results
    readme: Path | None = args.readme
    try:
        if results.exists() and not results.is_dir():
            raise ValueError(f"--results {str(results)!r} is a file; valid: a directory")
        if readme is not None and not readme.is_file():
            raise ValueError(f"--readme {str(readme)!r} is not a file")
        store = ResultsStore(results)
        frame = store.frame()
        answer = build_answer(frame, from_store(store))
        markdown = render_markdown(answer, heading=None)
        if readme is not None:
            source = (
                f"*Generated from `{results}` by `python -m gridbench.benchmarks.answer "
                f"--results {results} --readme {readme.name}`; edits here are overwritten.*"
            )
            text = readme.read_text(encoding="utf-8")
            new = replace_block(text, f"{markdown}\n{source}", name=str(readme))
            if new != text:
                readme.write_text(new, encoding="utf-8")
    except ValueError as exc:  # ResultsNotFound, CorruptResultsFile, markers missing
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(markdown, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
