"""What a figure function works with: :class:`ReportContext`.

It holds the store's rows, the leaderboard entries, the results directory and the
training-curve directories, and helps choose a representative day and re-simulate a method on
it through the referee (:meth:`ReportContext.rollout`: deterministic methods are fitted as
``run`` fits them; RL methods only *load* a shipped or trained agent, never train, and are
skipped with a note when none exists).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from gridbench.benchmarks.leaderboard import finite_number
from gridbench.benchmarks.report.registry import Figure

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure as MplFigure

    from gridbench.benchmarks.schedule import DayRollout
    from gridbench.cases.contracts import Case

__all__ = ["ReportContext"]

_DPI: Final[int] = 110


@dataclass(eq=False)
class ReportContext:
    """What a figure function works with (see the module docstring).

    Attributes:
        results: the results directory; ``frame``: its rows; ``entries``: the leaderboard
            entries of every case; ``split``: the split the leaderboard ranks per case.
        figure_dir: where :meth:`save` writes (the report's temporary directory).
        training_dirs: directories searched for ``<case>/<method>/seed<k>/`` training runs.
    """

    results: Path
    frame: pd.DataFrame
    entries: list[dict[str, Any]]
    figure_dir: Path
    training_dirs: tuple[Path, ...]
    split: dict[str, str | None] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    _cases: dict[str, Case] = field(default_factory=dict)
    _rollouts: dict[tuple[str, str, str], DayRollout | None] = field(default_factory=dict)
    #: What each re-simulation ran, per (case, method, day): seed, budget, agent file.
    sources: dict[tuple[str, str, str], str] = field(default_factory=dict)

    # -- bookkeeping -------------------------------------------------------------
    def note(self, case_id: str, text: str) -> None:
        """Record what the report of ``case_id`` leaves out, and why (one line)."""
        mine = self.notes.setdefault(case_id, [])
        if text not in mine:
            mine.append(text)

    def case(self, case_id: str) -> Case:
        """The registered case ``case_id`` (built once)."""
        if case_id not in self._cases:
            from gridbench.cases.registry import make_case

            self._cases[case_id] = make_case(case_id)
        return self._cases[case_id]

    def case_entries(self, case_id: str) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["case"] == case_id]

    def stored_methods(self, case_id: str) -> frozenset[str]:
        """The methods with rows of ``case_id`` in the results the report was given."""
        if self.frame.empty or "case" not in self.frame:
            return frozenset()
        df = self.frame[self.frame["case"] == case_id]
        return frozenset(str(m) for m in df["method"].dropna().unique())

    def given_training(self, case_id: str, methods: Iterable[str]) -> tuple[str, ...]:
        """Those of ``methods`` whose training curves the report may draw: the ones with rows
        in the given results, or with runs in the results' own ``training/``. Never a method
        the report was not given (the checkout's shipped agents of other methods)."""
        stored = self.stored_methods(case_id)
        own = self.results / "training" / case_id
        return tuple(m for m in methods if m in stored or (own / m).is_dir())

    def case_rows(self, case_id: str, *, ok_only: bool = True) -> pd.DataFrame:
        """The stored rows of ``case_id`` on the leaderboard's split (``ok`` rows only)."""
        df = self.frame[self.frame["case"] == case_id]
        split = self.split.get(case_id)
        if split is not None and "split" in df:
            df = df[df["split"] == split]
        if ok_only and "status" in df:
            df = df[df["status"].fillna("") == "ok"]
        return df

    def save(self, fig: MplFigure, name: str, title: str, caption: str) -> Figure:
        """Save ``fig`` as ``name`` (PNG) in the report and return its :class:`Figure`."""
        fig.savefig(self.figure_dir / name, dpi=_DPI, format="png")
        return Figure(name, title, caption)

    @staticmethod
    def table(
        header: Sequence[str], rows: Sequence[Sequence[str]], title: str, caption: str
    ) -> Figure:
        """A table for the report (Markdown and HTML tables, not a picture of one)."""
        return Figure(
            "", title, caption, (tuple(map(str, header)), tuple(tuple(map(str, r)) for r in rows))
        )

    # -- re-simulation -------------------------------------------------------------
    def representative_day(self, case_id: str) -> str | None:
        """A representative day of ``case_id``'s stored rows: among the days with the most
        methods, the one with the median idle cost (the median mean cost over methods when
        idle has no rows). ``None`` when the case has no ``ok`` rows."""
        df = self.case_rows(case_id)
        if df.empty:
            return None
        counts = df.groupby("day")["method"].nunique()
        days = sorted(counts[counts == counts.max()].index)
        ref = df[df["method"] == "idle"] if (df["method"] == "idle").any() else df
        cost = ref[ref["day"].isin(days)].groupby("day")["cost"].mean()
        if cost.empty:
            return str(days[len(days) // 2])
        order = sorted(cost.items(), key=lambda kv: (kv[1], kv[0]))
        return str(order[(len(order) - 1) // 2][0])

    def stored_seed(self, case_id: str, method: str, day: str) -> tuple[int, str] | None:
        """The lowest seed with an ``ok`` row of ``method`` on ``day`` and its budget (the
        highest stored budget, as the leaderboard ranks)."""
        from gridbench.cases.contracts import Budget

        df = self.case_rows(case_id)
        df = df[(df["method"] == method) & (df["day"] == day)]
        if df.empty:
            return None
        order = {b.value: i for i, b in enumerate(Budget)}
        best = max(df["budget"].astype(str), key=lambda b: order.get(b, -1))
        df = df[df["budget"].astype(str) == best]
        return int(df["seed"].min()), best

    def _load_agent(self, case: Case, method: Any, seed: int) -> str | None:
        """Load a shipped or trained agent into an RL ``method``; the path, or ``None``."""
        candidates: list[Path] = []
        if hasattr(method, "agent_path"):
            candidates.append(Path(method.agent_path(case, seed)))
        for root in self.training_dirs:  # SB3's model.zip, MADDPG's model.pt
            run = root / case.id / method.name / f"seed{seed}"
            candidates += [run / "model.zip", run / "model.pt"]
        for path in candidates:
            if path.is_file():
                method.load(case, seed, path)
                return str(path)
        return None

    def rollout(
        self, case_id: str, method_name: str, day: str, *, seed: int | None = None
    ) -> DayRollout | None:
        """Re-simulate ``method_name`` on ``day`` through the referee (cached). Seed and
        budget: those of its stored row on that day (seed 0, budget ``quick`` when it has
        none: the idle reference). RL methods load a shipped/trained agent, never train.
        ``None`` (with a note) when it cannot run or the day does not finish."""
        key = (case_id, method_name, day)
        if key in self._rollouts:
            return self._rollouts[key]
        result = None
        try:
            result = self._rollout(case_id, method_name, day, seed)
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.note(case_id, f"{method_name} not re-simulated on {day}: {first}")
        self._rollouts[key] = result
        return result

    def _rollout(
        self, case_id: str, method_name: str, day: str, seed: int | None
    ) -> DayRollout | None:
        from gridbench.benchmarks.schedule import roll_out
        from gridbench.cases.contracts import Budget, MethodFamily
        from gridbench.cases.registry import get_method

        case = self.case(case_id)
        stored = self.stored_seed(case_id, method_name, day)
        run_seed, budget = stored if stored else (0, Budget.QUICK.value)
        if seed is not None:
            run_seed = seed
        method = get_method(method_name).make()
        if MethodFamily(method.family) is MethodFamily.RL:
            if not hasattr(method, "load"):
                self.note(case_id, f"{method_name} skipped: it cannot load a trained agent")
                return None
            agent = self._load_agent(case, method, run_seed)
            if agent is None:
                where = ", ".join(str(d) for d in self.training_dirs) or "no training directory"
                self.note(
                    case_id,
                    f"{method_name} skipped in the figures: no shipped or trained agent for seed "
                    f"{run_seed} (looked in the shipped agents and in {where}); report never "
                    "trains",
                )
                return None
            rollout = roll_out(case, method, day, run_seed, budget=budget, fit=False)
            source = f"seed {run_seed}, agent {agent}"
        else:
            rollout = roll_out(case, method, day, run_seed, budget=budget, fit=True)
            source = f"seed {run_seed}, budget {budget}"
        self.sources[(case_id, method_name, day)] = source
        if not rollout.complete or rollout.status != "ok":
            self.note(
                case_id,
                f"{method_name} on {day}: re-simulation ended with status {rollout.status} "
                f"({rollout.row.get('message') or 'incomplete day'}); left out of the figures",
            )
            return None
        if stored is not None:
            row = self.case_rows(case_id)
            row = row[(row["method"] == method_name) & (row["day"] == day)]
            row = row[(row["seed"] == run_seed) & (row["budget"].astype(str) == budget)]
            if not row.empty:
                want = finite_number(row["cost"].iloc[0])
                got = finite_number(rollout.row.get("cost"))
                if want is not None and got is not None and abs(got - want) > 1e-3 * abs(want):
                    self.note(
                        case_id,
                        f"{method_name} on {day}: re-simulated cost {got:.2f} $ differs from "
                        f"the stored {want:.2f} $ (a different agent or code version)",
                    )
        return rollout

    # -- what the figures show ------------------------------------------------------
    def ranked_rl_methods(self, case_id: str) -> list[str]:
        """RL methods of the case's leaderboard, best first."""
        rl = [e for e in self.case_entries(case_id) if e["family"] == "rl"]
        rl.sort(key=lambda e: (e["rank"] is None, e["rank"] or 0, e["method"]))
        return [e["method"] for e in rl]

    def describe_rollouts(self, case_id: str, day: str, methods: Iterable[str]) -> str:
        """A caption's sentence naming what each of ``methods`` re-simulated on ``day`` ran."""
        parts = [f"{m} ({self.sources.get((case_id, m, day), 'seed 0')})" for m in methods]
        return "Re-simulated through the referee: " + "; ".join(parts) + "."
