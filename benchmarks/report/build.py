"""``gridbench report``: :func:`build_report` reads a results store and writes ``report.md``,
``report.html`` and the figures (see :mod:`gridbench.benchmarks.report`)."""

from __future__ import annotations

import contextlib
import datetime
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from gridbench.benchmarks.report.context import ReportContext
from gridbench.benchmarks.report.directory import (
    ReportError,
    check_report_dir,
    swap_in,
    write_manifest,
)
from gridbench.benchmarks.report.documents import (
    CaseSection,
    render_html_report,
    render_markdown_report,
)
from gridbench.benchmarks.report.figures.budget_curves import budget_curves
from gridbench.benchmarks.report.figures.cost_vs_time import cost_vs_decision_time
from gridbench.benchmarks.report.figures.crossover import crossover_figures
from gridbench.benchmarks.report.figures.tuning import tuning_table
from gridbench.benchmarks.report.registry import CASE_FIGURES, Figure

__all__ = ["DEFAULT_REPORT_DIR", "ReportResult", "build_report"]

#: Default output directory of ``gridbench report``.
DEFAULT_REPORT_DIR: Final[Path] = Path("results") / "report"


@dataclass(frozen=True, slots=True)
class ReportResult:
    """What :func:`build_report` wrote."""

    out: Path
    markdown: Path
    html: Path
    figures: tuple[Figure, ...]
    notes: tuple[str, ...]


def _registered_methods(case_id: str) -> list[str]:
    from gridbench.cases.registry import make_case, method_specs

    try:
        case = make_case(case_id)
    except ValueError:
        return []
    names = []
    for spec in method_specs():
        try:
            if spec.make().supports(case):
                names.append(spec.name)
        except Exception:
            continue
    return names


def _store_notes(ctx: ReportContext, store: Any, case_ids: Iterable[str]) -> None:
    from gridbench.cases.contracts import MethodFamily

    for case_id in case_ids:
        rows = ctx.frame[ctx.frame["case"] == case_id]
        present = set(rows["method"])
        families = set(rows["family"].dropna()) if "family" in rows else set()
        if MethodFamily.RL.value not in families:
            ctx.note(
                case_id,
                "no RL rows yet, so no learned policy in the table or the figures (run e.g. "
                "`gridbench run --method ddpg-per-or`)",
            )
        if "oracle" not in present:
            ctx.note(case_id, "no oracle rows: the gap column is empty")
        never = [m for m in _registered_methods(case_id) if m not in present]
        if never:
            ctx.note(case_id, f"registered methods without rows: {', '.join(never)}")
        if "status" in rows:
            bad = rows[rows["status"].fillna("") != "ok"]
            for (method, status), n in bad.groupby(["method", "status"]).size().items():
                ctx.note(case_id, f"{method}: {n} day(s) with status {status} (no metrics)")
    with contextlib.suppress(Exception):
        for failure in store.failures():
            u = failure.unit
            first = failure.error.splitlines()[0] if failure.error else "unknown error"
            ctx.note(u.case, f"unit {u.method} / seed {u.seed} / {u.budget} failed: {first}")


def _training_dirs(results: Path) -> tuple[Path, ...]:
    """Where the report looks for training runs: the results' own ``training/`` (what ``run``
    writes there) and the shipped agents (they carry their training logs), never the
    checkout's other runs; figures draw only methods that have rows in the results."""
    dirs = [results / "training"]
    with contextlib.suppress(Exception):
        from gridbench.rl_agents.sb3_methods import agents_dir

        dirs.append(agents_dir())
    out: list[Path] = []
    for d in dirs:
        if d.resolve() not in [o.resolve() for o in out]:
            out.append(d)
    return tuple(out)


def _read_rows(results: Path) -> tuple[Any, Any]:
    """``(store, frame)`` of the results directory; a file, a missing directory or no rows
    is a one-line error."""
    from gridbench.benchmarks.store import ResultsStore

    if results.exists() and not results.is_dir():
        raise ReportError(f"--results {str(results)!r} is a file; valid: a directory")
    store = ResultsStore(results)
    frame = store.frame()  # ResultsNotFound: missing directory or no rows
    if frame.empty:
        raise ReportError(f"results directory {str(results)!r} holds no result rows")
    return store, frame


def _add_leaderboards(
    ctx: ReportContext, case_ids: Sequence[str], split: str, failures: Sequence[Any]
) -> None:
    """Each case's leaderboard entries on ``split`` into ``ctx`` (every split, with a note,
    where the case has no ``split`` rows)."""
    from gridbench.benchmarks.leaderboard import build

    for case_id in case_ids:
        entries = build(ctx.frame, case=case_id, split=split, failures=failures)
        case_split: str | None = split
        if not entries:
            entries = build(ctx.frame, case=case_id, split=None, failures=failures)
            case_split = None
            ctx.note(case_id, f"no {split} rows: the leaderboard mixes every split")
        ctx.split[case_id] = case_split
        ctx.entries += entries


def _case_section(ctx: ReportContext, case_id: str) -> CaseSection:
    """The case's section: its leaderboard and figures (a figure that fails is a note)."""
    figures: list[Figure] = []
    for fn in (cost_vs_decision_time, budget_curves, tuning_table, crossover_figures,
               CASE_FIGURES.get(case_id)):
        if fn is None:
            continue
        try:
            figures += fn(ctx, case_id)
        except Exception as exc:  # a broken figure never loses the report
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            ctx.note(case_id, f"figure {fn.__name__} failed: {type(exc).__name__}: {first}")
    if case_id not in CASE_FIGURES:
        ctx.note(case_id, "no case-specific figures registered (report.case_figures)")
    return CaseSection(case_id, ctx.split[case_id], ctx.case_entries(case_id), figures)


def _crossover_answer(ctx: ReportContext) -> tuple[str, str]:
    """The crossover study's sentences (every case and axis swept beside the results), as
    Markdown and HTML to follow the answer; empty without sweeps."""
    import html

    from gridbench.benchmarks.crossover import answer_block, retrained_beside, studies
    from gridbench.benchmarks.report.figures.crossover import sweep_dirs

    found = []
    for sweep in sweep_dirs(ctx.results):
        try:
            found += studies(sweep, retrained=retrained_beside(sweep))
        except ValueError:
            continue
    if not found:
        return "", ""
    source = "*From `gridbench sweep` results (`python -m gridbench.benchmarks.crossover`).*"
    block = answer_block(found, source)
    items = [line[2:] for line in block.splitlines() if line.startswith("- ")]
    page = ("<h3>When does the ranking change? (crossover study)</h3><ul>"
            + "".join(f"<li>{html.escape(i.replace('**', ''))}</li>" for i in items) + "</ul>")
    return f"\n### When does the ranking change? (crossover study)\n\n{block}\n", page


def _write_documents(
    tmp: Path,
    ctx: ReportContext,
    case_ids: Sequence[str],
    sections: Sequence[CaseSection],
) -> dict[str, list[str]]:
    """``report.md`` and ``report.html`` (header, answer, sections) into ``tmp``; returns
    each case's notes."""
    from gridbench.benchmarks.answer import build_answer, render_html, render_markdown
    from gridbench.benchmarks.provenance import git_commit

    header = {
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "results": str(ctx.results),
        "rows": str(len(ctx.frame)),
        "cases": ", ".join(case_ids),
        "git commit": git_commit(),
    }
    missing = {c: ctx.notes.get(c, []) for c in case_ids}
    answer = build_answer(ctx.frame, ctx.entries)
    md, page = render_markdown(answer), render_html(answer)
    crossover_md, crossover_page = _crossover_answer(ctx)
    md, page = md + crossover_md, page + crossover_page
    markdown = render_markdown_report(header, sections, missing, md)
    (tmp / "report.md").write_text(markdown, encoding="utf-8")
    (tmp / "report.html").write_text(
        render_html_report(header, sections, missing, page), encoding="utf-8"
    )
    return missing


def build_report(
    results: Path | str,
    out: Path | str = DEFAULT_REPORT_DIR,
    *,
    split: str = "test",
    training_dirs: Sequence[Path | str] | None = None,
) -> ReportResult:
    """Write the report of the store under ``results`` into the directory ``out`` (replaced
    as a whole; see :mod:`gridbench.benchmarks.report`). Registries must be loaded. Raises
    :class:`ReportError` / the store's ``ResultsNotFound`` (one line) when there is nothing
    to report or ``out`` is not a report directory."""
    import gridbench.benchmarks.report.figures  # noqa: F401  (registers the cases' figures)

    results, out = Path(results), Path(out)
    store, frame = _read_rows(results)
    check_report_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        tmp.chmod(0o755)  # mkdtemp's 0700 would follow the directory through the rename
        ctx = ReportContext(
            results=results,
            frame=frame,
            entries=[],
            figure_dir=tmp,
            training_dirs=tuple(Path(d) for d in training_dirs)
            if training_dirs is not None
            else _training_dirs(results),
        )
        case_ids = sorted(str(c) for c in frame["case"].dropna().unique())
        _add_leaderboards(ctx, case_ids, split, store.failures())
        _store_notes(ctx, store, case_ids)
        sections = [_case_section(ctx, case_id) for case_id in case_ids]
        missing = _write_documents(tmp, ctx, case_ids, sections)
        write_manifest(tmp)
        swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    figures_all = tuple(f for s in sections for f in s.figures)
    notes = tuple(f"{c}: {t}" for c, ts in missing.items() for t in ts)
    return ReportResult(out, out / "report.md", out / "report.html", figures_all, notes)
