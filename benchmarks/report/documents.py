"""The report as documents: ``report.md`` (:func:`render_markdown_report`) and
``report.html`` (:func:`render_html_report`) from the per-case sections, with the leaderboard
tables, the figures and tables of each case, and the "Missing" section."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from gridbench.benchmarks.leaderboard import (
    finite_number,
    format_number,
    run_state,
    split_columns,
)
from gridbench.benchmarks.report.plotting import case_slug
from gridbench.benchmarks.report.registry import Figure

__all__ = ["CaseSection", "best_rl_summary", "render_html_report", "render_markdown_report"]


def _fmt(value: Any, digits: int = 4) -> str:
    return format_number(value, digits)


def _html_table(entries: Sequence[Mapping[str, Any]]) -> str:
    """A case's leaderboard as HTML tables (the main one, then its own columns in chunks)."""
    columns, extra = split_columns(str(entries[0]["case"]), entries) if entries else ((), [])
    head = ["rank", "method", "family", "budget", "seeds", "days", "feasible", "runs",
            "cost $ IQM", "95% CI", "gap"] + [label for _, label in columns]  # fmt: skip
    lines = ["<table>", "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head)]
    lines.append("</tr></thead>")
    lines.append("<tbody>")
    for e in entries:
        gap = finite_number(e.get("gap"))
        feasible = "yes" if e["feasible"] else f"no ({100.0 * e['feasible_frac']:.0f} % ok)"
        cells = [
            "—" if e["rank"] is None else str(e["rank"]),
            e["method"],
            e["family"],
            e["budget"],
            str(e["n_seeds"]),
            str(e["n_days"]),
            feasible,
            run_state(e),
            _fmt(e.get("cost"), 6),
            f"[{_fmt(e.get('cost_lo'), 6)}, {_fmt(e.get('cost_hi'), 6)}]",
            "–" if gap is None else f"{100.0 * gap:+.2f} %",
        ]
        cells += [_fmt(e.get(key)) for key, _ in columns]
        lines.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    lines.append("</tbody>")
    lines.append("</table>")
    for chunk in extra:  # the case's own columns: tables narrow enough for a page
        head = ["method"] + [label for _, label in chunk]
        lines.append("<table>")
        lines.append("<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head))
        lines.append("</tr></thead><tbody>")
        for e in entries:
            cells = [e["method"]] + [_fmt(e.get(key)) for key, _ in chunk]
            lines.append(
                "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>"
            )
        lines.append("</tbody></table>")
    return "\n".join(lines)


_CSS: Final[str] = (
    "body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse;font-size:0.85em;margin:1em 0}"
    "th,td{border:1px solid #ccc;padding:0.25em 0.5em;text-align:right}"
    "th{background:#f3f3f3}td:nth-child(2),td:nth-child(3){text-align:left}"
    "figure{margin:1.5em 0}img{max-width:100%}figcaption{font-size:0.85em;color:#444}"
)


@dataclass(frozen=True, slots=True)
class CaseSection:
    """One case's part of the report: its leaderboard (on ``split``; ``None``: every split)
    and its figures."""

    case_id: str
    split: str | None
    entries: list[dict[str, Any]]
    figures: list[Figure]


def best_rl_summary(entries: Sequence[Mapping[str, Any]]) -> str | None:
    """One sentence on the best-ranked RL method of a leaderboard (ranked as the table:
    feasible first, then by cost): its gap to the oracle with the 95 % interval over seeds.
    None when no RL method has a gap (no oracle rows, or no RL rows)."""
    for e in entries:
        if e.get("family") != "rl" or e.get("gap") is None:
            continue
        lo, hi = e.get("gap_lo"), e.get("gap_hi")
        interval = (
            f" [95 % CI {100.0 * lo:+.2f}, {100.0 * hi:+.2f}]"
            if lo is not None and hi is not None
            else ""
        )
        ok = e.get("feasible_frac")
        feasible = "" if ok is None else f"; within limits on {100.0 * ok:.0f} % of its days"
        return (
            f"Best RL agent: {e['method']} (budget {e.get('budget')}), gap to the oracle "
            f"{100.0 * e['gap']:+.2f} %{interval} (IQM over {e['n_seeds']} seed(s) of the "
            f"per-seed mean over {e['n_days']} day(s){feasible})."
        )
    return None


def render_markdown_report(
    header: Mapping[str, str],
    sections: Sequence[CaseSection],
    missing: Mapping[str, list[str]],
    answer: str = "",
) -> str:
    """``report.md``: the cross-case ``answer`` (Markdown), the ``header`` lines, per case
    its leaderboard, best-RL sentence and figures, then what is ``missing`` per case."""
    from gridbench.benchmarks.leaderboard import render

    lines = ["# gridbench report", ""]
    lines += [*answer.splitlines(), ""] if answer else []
    lines += [f"- {k}: {v}" for k, v in header.items()]
    lines.append("")
    for s in sections:
        lines += [f"## {s.case_id}", "", f"### Leaderboard ({s.split or 'all splits'})", ""]
        table = render(s.entries, "md").splitlines()
        if table and table[0].startswith("## "):
            table = table[1:]
        while table and not table[0].strip():
            table = table[1:]
        lines += table
        lines.append("")
        if (best := best_rl_summary(s.entries)) is not None:
            lines += [f"**{best}**", ""]
        if s.figures:
            lines += ["### Figures", ""]
            for f in s.figures:
                lines += [f"#### {f.title}", ""]
                if f.table is not None:
                    head, rows = f.table
                    lines.append("| " + " | ".join(head) + " |")
                    lines.append("|" + "|".join("---" for _ in head) + "|")
                    lines += ["| " + " | ".join(r) + " |" for r in rows]
                else:
                    lines.append(f"![{f.title}]({f.file})")
                lines += ["", f"*{f.caption}*", ""]
    lines += ["## Missing", ""]
    if any(missing.values()):
        for case_id, notes in missing.items():
            for text in notes:
                lines.append(f"- {case_id}: {text}")
    else:
        lines.append("Nothing: every figure and method is present.")
    return "\n".join(lines) + "\n"


def render_html_report(
    header: Mapping[str, str],
    sections: Sequence[CaseSection],
    missing: Mapping[str, list[str]],
    answer: str = "",
) -> str:
    """``report.html``: :func:`render_markdown_report`'s content as one HTML page (``answer``
    is HTML here), the leaderboards as HTML tables."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><title>gridbench report</title>',
        f"<style>{_CSS}</style></head>",
        "<body>",
        "<h1>gridbench report</h1>",
        answer,
        "<ul>" + "".join(f"<li>{e(k)}: {e(v)}</li>" for k, v in header.items()) + "</ul>",
    ]
    for s in sections:
        parts.append(f'<h2 id="{e(case_slug(s.case_id))}">{e(s.case_id)}</h2>')
        parts.append(f"<h3>Leaderboard ({e(s.split or 'all splits')})</h3>")
        parts.append(_html_table(s.entries) if s.entries else "<p>no results to rank</p>")
        parts.append(
            "<p>IQM over seeds of each seed's mean over the days, 95 % stratified-bootstrap "
            "interval; gap against the oracle on the same day; infeasible methods rank after "
            "feasible ones; the oracle is a bound, not ranked.</p>"
        )
        if (best := best_rl_summary(s.entries)) is not None:
            parts.append(f"<p><b>{e(best)}</b></p>")
        if s.figures:
            parts.append("<h3>Figures</h3>")
        for f in s.figures:
            if f.table is not None:
                head, rows = f.table
                body = "".join(
                    "<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows
                )
                content = (
                    "<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in head)
                    + f"</tr></thead><tbody>{body}</tbody></table>"
                )
            else:
                content = f'<img src="{e(f.file)}" alt="{e(f.title)}">'
            parts.append(
                f"<figure>{content}"
                f"<figcaption><b>{e(f.title)}.</b> {e(f.caption)}</figcaption></figure>"
            )
    parts.append("<h2>Missing</h2>")
    items = [f"<li>{e(c)}: {e(t)}</li>" for c, notes in missing.items() for t in notes]
    parts.append(f"<ul>{''.join(items)}</ul>" if items else "<p>Nothing.</p>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"

