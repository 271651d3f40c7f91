"""The equations of the SES-carbon case, each implemented once: costs, emissions, carbon ladder,
network carbon intensity, storage energy.

Every function is an equation of Zhong et al., Processes 12 (2024) 1791, written in the
scalar-float form the referee's step (``core.py``) calls — Python floats in, a Python float
out, no numpy on the hot path — so that the referee, the formulations' post-processing and the
tests price a schedule with the same code. Where a caller needs arrays (a plan's slots, a
test's table) it maps the scalar equation entry by entry with :func:`elementwise` (the same
float operations in the same order, so the same bits); the purely arithmetic ones
(:func:`energy_purchase_usd`, :func:`gas_turbine_fuel_usd`,
:func:`storage_degradation_usd`, :func:`allowance_t`) take numpy arrays as they are. Sums over
devices are the caller's: the referee adds a step's few devices with :func:`math.fsum`.
Units: MW, MWh, h, $, t (tCO2); ``p > 0`` injects into the grid.

Ladder-type carbon trading (eq (14)). With ε the base price, d the tier length, λ the growth
rate and ΔQ the traded quantity (emissions minus free allowance, t), the cost is the convex
piecewise-linear function

    C_ce(ΔQ) = ε·ΔQ                                                  ΔQ ≤ d
             = ε·d + (1+λ)·ε·(ΔQ − d)                                d < ΔQ ≤ 2d
             = ε·d + (1+λ)·ε·d + (1+2λ)·ε·(ΔQ − 2d)                  2d < ΔQ ≤ 3d
             = ε·d + (1+λ)·ε·d + (1+2λ)·ε·d + (1+3λ)·ε·(ΔQ − 3d)     ΔQ > 3d

(``n_tiers = 4``; in general tier k = 0 … n−1 has slope (1 + kλ)·ε and the last is
unbounded). The paper defines it for ΔQ > 0 only; we extend the first tier linearly to
ΔQ < 0 (surplus allowance sold at ε), which keeps it convex. Equivalently
``C_ce(x) = ε·x + Σ_{k≥1} λ·ε·max(x − k·d, 0)`` (:meth:`CarbonLadder.cost_usd`) and
``C_ce(x) = max_k (s_k·x + b_k)`` with the slopes and intercepts of
:func:`ladder_affine_pieces` — the epigraph form for LPs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gridbench.cases.ses_carbon.config import CarbonMarketParams

__all__ = [
    "CarbonLadder",
    "allowance_t",
    "carbon_settlement_usd",
    "elementwise",
    "energy_purchase_usd",
    "gas_turbine_fuel_usd",
    "ladder_affine_pieces",
    "ladder_carbon_cost",
    "ladder_segments",
    "marginal_carbon_price",
    "network_carbon_intensity",
    "paper_objective_terms",
    "soc_penalty_usd",
    "soc_window_violation",
    "step_emissions_t",
    "storage_degradation_usd",
    "storage_energy_update",
    "terminal_energy_price",
    "terminal_energy_settlement",
]

FloatArray = NDArray[np.float64]

#: Supply (MW) under which eq (13)'s intensity is 0 (nothing is supplied).
_EPS: Final[float] = 1e-12


def elementwise(equation: Callable[..., float], *args: ArrayLike) -> FloatArray:
    """``equation`` (a scalar equation of this module) applied entry by entry to its
    arguments broadcast together, each entry passed as a Python float: the referee's float
    operations, so the referee's bits. Returns an array of the broadcast shape."""
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in args))
    columns = [a.ravel().tolist() for a in arrays]
    shape = arrays[0].shape
    values = np.fromiter(
        (equation(*entry) for entry in zip(*columns, strict=True)),
        dtype=np.float64,
        count=math.prod(shape),
    )
    return values.reshape(shape)


# ------------------------------------------------------------------ carbon ladder, eq (14)
def ladder_segments(params: CarbonMarketParams) -> tuple[FloatArray, FloatArray]:
    """Breakpoints and slopes of the ladder of eq (14).

    Returns ``(breakpoints, slopes)``: ``breakpoints = [d, 2d, …, (n−1)d]`` (t, ``n − 1``
    entries) and ``slopes = [ε, (1+λ)ε, …, (1+(n−1)λ)ε]`` ($/t, ``n`` entries); slope ``k``
    applies between breakpoints ``k − 1`` and ``k`` (the first below ``d``, including
    ΔQ < 0; the last above ``(n−1)d``). Slopes are non-decreasing: the function is convex.
    """
    k = np.arange(params.n_tiers, dtype=np.float64)
    slopes = (1.0 + k * params.growth_rate) * params.base_price_usd_per_t
    breakpoints = np.arange(1, params.n_tiers, dtype=np.float64) * params.step_t
    return breakpoints, slopes


def ladder_affine_pieces(params: CarbonMarketParams) -> tuple[FloatArray, FloatArray]:
    """``(slopes, intercepts)`` with ``C_ce(x) = max_k (slopes[k]·x + intercepts[k])``.

    ``intercepts[0] = 0`` and ``intercepts[k] = intercepts[k−1] − (s_k − s_{k−1})·bp_{k−1}``
    (continuity at each breakpoint). For an epigraph: ``z >= s_k·x + b_k`` for every k.
    """
    breakpoints, slopes = ladder_segments(params)
    intercepts = np.zeros_like(slopes)
    for k in range(1, slopes.size):
        intercepts[k] = intercepts[k - 1] - (slopes[k] - slopes[k - 1]) * breakpoints[k - 1]
    return slopes, intercepts


@dataclass(frozen=True)
class CarbonLadder:
    """The ladder of eq (14) in floats (:func:`ladder_segments`): its cost, its price and the
    settlement of a step — the one implementation, which the array functions below map."""

    breakpoints_t: tuple[float, ...]
    slopes_usd_per_t: tuple[float, ...]

    @classmethod
    def from_params(cls, params: CarbonMarketParams) -> CarbonLadder:
        breakpoints, slopes = ladder_segments(params)
        return cls(tuple(breakpoints.tolist()), tuple(slopes.tolist()))

    def cost_usd(self, net_t: float) -> float:
        """Eq (14), $: ``C_ce(ΔQ) = s_0·ΔQ + Σ_{k≥1} (s_k − s_{k−1})·max(ΔQ − bp_{k−1}, 0)``
        at ``net_t`` = ΔQ; negative for ΔQ < 0 (surplus sold at ε)."""
        slopes = self.slopes_usd_per_t
        cost = slopes[0] * net_t
        for k, bp in enumerate(self.breakpoints_t, start=1):
            if net_t > bp:
                cost += (slopes[k] - slopes[k - 1]) * (net_t - bp)
        return cost

    def price_usd_per_t(self, net_t: float) -> float:
        """Price of the next tonne at ΔQ = ``net_t`` (right derivative of eq (14)), $/t: the
        slope of the tier ``net_t`` lies in (a breakpoint belongs to the tier above it)."""
        price = self.slopes_usd_per_t[0]
        for bp, slope in zip(self.breakpoints_t, self.slopes_usd_per_t[1:], strict=True):
            if net_t >= bp:
                price = slope
        return price

    def settlement_usd(self, net_before_t: float, net_after_t: float) -> float:
        """Incremental ladder cost of a step, $: ``C_ce(ΔQ_after) − C_ce(ΔQ_before)``.

        With ``ΔQ`` the running sum of (emissions − allowance) from the start of the day
        (``ΔQ_0 = 0``, ``C_ce(0) = 0``), the steps' settlements telescope to eq (14) of the
        day's total."""
        return self.cost_usd(net_after_t) - self.cost_usd(net_before_t)


def ladder_carbon_cost(
    emissions_t: ArrayLike, allowance_t: ArrayLike, params: CarbonMarketParams
) -> FloatArray:
    """:meth:`CarbonLadder.cost_usd` of ``ΔQ = emissions_t − allowance_t``, entry by entry ($;
    broadcasts; an array, 0-d for scalars)."""
    net = np.asarray(emissions_t, dtype=np.float64) - np.asarray(allowance_t, dtype=np.float64)
    return elementwise(CarbonLadder.from_params(params).cost_usd, net)


def marginal_carbon_price(net_t: ArrayLike, params: CarbonMarketParams) -> FloatArray:
    """:meth:`CarbonLadder.price_usd_per_t` at each ``net_t`` = ΔQ, $/t."""
    return elementwise(CarbonLadder.from_params(params).price_usd_per_t, net_t)


def carbon_settlement_usd(
    net_before_t: ArrayLike, net_after_t: ArrayLike, params: CarbonMarketParams
) -> FloatArray:
    """:meth:`CarbonLadder.settlement_usd` entry by entry, $."""
    return elementwise(CarbonLadder.from_params(params).settlement_usd, net_before_t, net_after_t)


def allowance_t(load_mw: ArrayLike, allowance_t_per_mwh: float, dt_h: float) -> FloatArray:
    """Free allowance of a step, t: ``δ · Σ_i P_{i,t}^l · Δt`` (consumption-based quota on
    the served load; ``load_mw`` is the total or per-bus load, summed over the last axis)."""
    load = np.asarray(load_mw, dtype=np.float64)
    total = load.sum(axis=-1) if load.ndim else load
    return np.asarray(allowance_t_per_mwh * total * dt_h, dtype=np.float64)


# ------------------------------------------------------------------ emissions, eq (13)
def step_emissions_t(
    import_mw: float,
    upstream_t_per_mwh: float,
    gas_turbine_total_mw: float,
    gas_turbine_t_per_mwh: float,
    dt_h: float,
) -> float:
    """CO2 of a step, t: ``(max(P^UPG, 0)·C^UPG + Σ_g P_g^G·C^G)·Δt`` — the numerator of
    eq (13) times Δt (``gas_turbine_total_mw`` = Σ_g P_g^G). Exports (``P^UPG < 0``) carry no
    credit: what the feeder sends upstream displaces nothing the DSO is accountable for."""
    return (
        max(import_mw, 0.0) * upstream_t_per_mwh + gas_turbine_total_mw * gas_turbine_t_per_mwh
    ) * dt_h


def network_carbon_intensity(
    import_mw: float,
    upstream_t_per_mwh: float,
    gas_turbine_total_mw: float,
    gas_turbine_t_per_mwh: float,
    pv_total_mw: float,
    discharge_total_mw: float,
) -> float:
    """Dynamic carbon intensity of the distribution network, eq (13), t/MWh:

    ``C_t = (P^UPG·C^UPG + Σ_g P_g^G·C^G) / (P^UPG + Σ_g P_g^G + Σ_p P_p^PV + Σ_k |P_k^dis|)``

    over the power *supplied* to the network in the step: ``P^UPG`` enters as
    ``max(P^UPG, 0)`` (an export supplies nothing); the sums are the arguments
    (``discharge_total_mw`` = Σ_k max(p_k, 0) of the storage setpoints). 0 where nothing is
    supplied.
    """
    up = max(import_mw, 0.0)
    supply = up + gas_turbine_total_mw + pv_total_mw + discharge_total_mw
    if supply > _EPS:
        return (up * upstream_t_per_mwh + gas_turbine_total_mw * gas_turbine_t_per_mwh) / supply
    return 0.0


# ------------------------------------------------------------------ storage, eqs (11)–(12)
def storage_energy_update(
    energy_mwh: Iterable[float],
    p_mw: Iterable[float],
    dt_h: float,
    eta_charge: float,
    eta_discharge: float,
    energy_max_mwh: float = math.inf,
) -> tuple[list[float], list[float], list[float]]:
    """Eq (11) for each storage: ``E_{t+1} = E_t + η^ch·P^ch·Δt − P^dis/η^dis·Δt`` with
    ``P^dis = max(p, 0)`` and ``P^ch = max(−p, 0)`` of the grid-side setpoint ``p`` (MW), then
    clipped into eq (12)'s ``0 ≤ E ≤ E^max``. The limits are enforced before, by projecting
    ``p`` (``projection.storage_power_bounds``): the clip only removes that projection's
    round-off. Returns the lists ``(E_{t+1}, P^dis, P^ch)``, one entry per storage."""
    energy: list[float] = []
    discharge: list[float] = []
    charge: list[float] = []
    # ``a if a > b else b`` forms are max/min, written out: same values, signed zeros
    # included, as the builtins, which return their first argument on ties
    for e, p in zip(energy_mwh, p_mw, strict=True):
        dis = 0.0 if 0.0 > p else p
        ch = 0.0 if 0.0 > -p else -p
        x = e + (eta_charge * ch - dis / eta_discharge) * dt_h
        x = 0.0 if 0.0 > x else x
        energy.append(energy_max_mwh if energy_max_mwh < x else x)
        discharge.append(dis)
        charge.append(ch)
    return energy, discharge, charge


def terminal_energy_price(valley_price_usd_per_mwh: float, eta_charge: float) -> float:
    """Default π_T of :func:`terminal_energy_settlement`, $ per stored MWh: the valley
    tariff / η_ch — the purchase price of one MWh *stored* by charging in the next valley."""
    if not eta_charge > 0:
        raise ValueError(f"eta_charge must be > 0, got {eta_charge!r}")
    return float(valley_price_usd_per_mwh) / float(eta_charge)


def terminal_energy_settlement(
    energy_start_mwh: Iterable[float], energy_end_mwh: Iterable[float], price_usd_per_mwh: float
) -> float:
    """Terminal energy settlement of the day, $: ``C_T = π_T · Σ_k (E_k(0) − E_k(T))``
    (the sum by :func:`math.fsum`).

    Energy the storages hold less at the end of the day than at its start is bought back at
    π_T per stored MWh (a cost), energy they hold more is credited (a negative cost). Linear
    and symmetric in the end energies, so an optimization stays linear, and the term by itself
    offers no arbitrage as long as π_T is at most what storing a MWh costs during the day
    (with the default valley / η_ch it is exactly the cheapest tariff's price per stored
    MWh, before degradation and losses). Summed over every storage."""
    return float(price_usd_per_mwh) * math.fsum(
        float(e0) - float(e) for e0, e in zip(energy_start_mwh, energy_end_mwh, strict=True)
    )


def soc_window_violation(soc: Iterable[float], soc_min: float, soc_max: float) -> float:
    """``Σ_k dist(SOC_k, [soc_min, soc_max])``: how far the SOCs lie outside the soft window
    (0 inside), summed in order."""
    total = 0.0
    for s in soc:
        below, above = soc_min - s, s - soc_max
        total += (0.0 if 0.0 > below else below) + (0.0 if 0.0 > above else above)
    return total


# ------------------------------------------------------------------ DSO cost terms, eq (1)
def energy_purchase_usd(import_mw: float, price_usd_per_mwh: float, dt_h: float) -> float:
    """Energy bought over the tie line, $: ``λ_t^{ELE}·P_t^{UPG}·Δt`` (signed: an export,
    ``P^UPG < 0``, is sold at the same tariff). Arithmetic only: arrays work as well."""
    return price_usd_per_mwh * import_mw * dt_h


def gas_turbine_fuel_usd(
    sum_sq_mw2: float, sum_mw: float, n_units: int, a: float, b: float, c: float, dt_h: float
) -> float:
    """Fuel cost of eq (1) of ``n_units`` turbine outputs, $: ``Σ_g (a·P_g² + b·P_g + c)·Δt``
    = ``(a·ΣP² + b·ΣP + c·n)·Δt`` from ``sum_sq_mw2`` = ΣP² and ``sum_mw`` = ΣP (the paper
    writes ``a(PΔt)² + bPΔt + c`` with Δt = 1 h; identical at hourly steps)."""
    return (a * sum_sq_mw2 + b * sum_mw + c * n_units) * dt_h


def storage_degradation_usd(throughput_mw: float, usd_per_mwh: float, dt_h: float) -> float:
    """Degradation of eq (17), $: ``λ^BESS·Σ_k (P_k^ch + |P_k^dis|)·Δt`` with
    ``throughput_mw`` = Σ_k (P^ch + P^dis). Arithmetic only: arrays work as well."""
    return usd_per_mwh * throughput_mw * dt_h


def paper_objective_terms(
    price_usd_per_mwh: float,
    load_total_mw: float,
    gt_fuel_usd: float,
    charge_total_mw: float,
    discharge_total_mw: float,
    degradation_usd: float,
    intensity_t_per_mwh: float,
    dt_h: float,
) -> dict[str, float]:
    """The per-step terms of the paper's eq (1)/(17) objective (carbon trading excluded —
    the paper settles it once a day), $, and the step's contribution to its ΔQ, t:

    * ``user_purchase`` = ``λ_t·Σ_i P_{i,t}^l·Δt`` — every load bought at the tariff;
    * ``gas_turbine`` = the turbines' fuel cost;
    * ``ses`` = ``λ_t·Σ_k (P_k^ch − |P_k^dis|)·Δt`` — the SES's purchases minus sales;
    * ``ses_degradation`` = ``λ^BESS·Σ_k (P^ch + |P^dis|)·Δt`` (eq (17));
    * ``carbon_quantity_t`` = ``C_t·(Σ_i P_{i,t}^l + Σ_k P_k^ch)·Δt`` with ``C_t`` the network
      intensity of eq (13) (the summand of the paper's ΔQ).

    Unlike the DSO cost (tie-line purchase), it credits no PV or turbine output against the
    load and does not pay for network losses.
    """
    return {
        "user_purchase": price_usd_per_mwh * load_total_mw * dt_h,
        "gas_turbine": gt_fuel_usd,
        "ses": price_usd_per_mwh * (charge_total_mw - discharge_total_mw) * dt_h,
        "ses_degradation": degradation_usd,
        "carbon_quantity_t": intensity_t_per_mwh * (load_total_mw + charge_total_mw) * dt_h,
    }


def soc_penalty_usd(
    violation: float, energy_mwh: float, usd_per_mwh_h: float, dt_h: float
) -> float:
    """Eq (17)'s soft SOC term, $: ``λ1·E^max·Σ_k dist(SOC_k, [SOC_min, SOC_max])·Δt`` with
    ``violation`` the sum of :func:`soc_window_violation` over the storages."""
    return usd_per_mwh_h * energy_mwh * violation * dt_h
