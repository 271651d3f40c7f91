"""The Stackelberg cases' leaderboard columns: each player's profit of the day, the DSO's
upstream purchase and the day KPIs of spec §7 (share of posted prices at a bound, the
import's peak–valley difference and peak-to-average ratio), all computed by the referee (the
scored cost is −(DSO profit)).

Figures of the issue (posted prices vs tariff, follower profits, SOC and EV energy, learning
curves) are still to come; the cases get the figures drawn for every case."""

from __future__ import annotations

from gridbench.benchmarks.leaderboard import register_case_columns

register_case_columns(
    "stackelberg-",
    (
        ("profit_dso", "DSO profit $"),
        ("profit_ea", "EA profit $"),
        ("profit_la", "LA profit $"),
        ("profit_gsess", "storage player profit $"),
        ("cost_energy_purchase", "upstream purchase $"),
        ("kpi_prices_at_bound_share", "prices at a bound"),
        ("kpi_import_peak_valley_mw", "import peak-valley MW"),
        ("kpi_import_par", "import PAR"),
    ),
)
