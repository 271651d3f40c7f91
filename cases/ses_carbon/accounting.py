"""Pure accounting of the SES-carbon case: costs, emissions, carbon ladder, storage energy.

Every function is a plain numpy expression of an equation of Zhong et al., Processes 12
(2024) 1791, so that the referee (``core.py``) and the optimization formulations price a
schedule identically. Units: MW, MWh, h, $, t (tCO2); ``p > 0`` injects into the grid.

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
``C_ce(x) = ε·x + Σ_{k≥1} λ·ε·max(x − k·d, 0)`` and ``C_ce(x) = max_k (s_k·x + b_k)`` with
the slopes and intercepts of :func:`ladder_affine_pieces` — the epigraph form for LPs.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gridbench.cases.ses_carbon.config import CarbonMarketParams

__all__ = [
    "allowance_t",
    "carbon_settlement_usd",
    "energy_purchase_usd",
    "gas_turbine_fuel_usd",
    "ladder_affine_pieces",
    "ladder_carbon_cost",
    "ladder_segments",
    "marginal_carbon_price",
    "network_carbon_intensity",
    "paper_objective_terms",
    "soc_window_violation",
    "step_emissions_t",
    "storage_degradation_usd",
    "storage_energy_update",
    "terminal_energy_price",
    "terminal_energy_settlement",
]

FloatArray = NDArray[np.float64]

_EPS: Final[float] = 1e-12


def _f(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


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


def ladder_carbon_cost(
    emissions_t: ArrayLike, allowance_t: ArrayLike, params: CarbonMarketParams
) -> FloatArray:
    """Carbon trading cost of eq (14), $: ``C_ce(ΔQ)`` with ``ΔQ = emissions_t − allowance_t``.

    ``C_ce(x) = s_0·x + Σ_{k≥1} (s_k − s_{k−1})·max(x − bp_{k−1}, 0)`` (slopes ``s`` and
    breakpoints ``bp`` of :func:`ladder_segments`); negative for ΔQ < 0 (surplus sold at ε).
    Broadcasts; returns an array (0-d for scalars).
    """
    x = _f(emissions_t) - _f(allowance_t)
    breakpoints, slopes = ladder_segments(params)
    cost = slopes[0] * x
    for k in range(1, slopes.size):
        cost = cost + (slopes[k] - slopes[k - 1]) * np.maximum(x - breakpoints[k - 1], 0.0)
    return np.asarray(cost, dtype=np.float64)


def marginal_carbon_price(net_t: ArrayLike, params: CarbonMarketParams) -> FloatArray:
    """Price of the next tonne at traded quantity ``net_t`` = ΔQ (right derivative of eq
    (14)), $/t: the slope of the tier ``net_t`` lies in (a breakpoint belongs to the tier
    above it)."""
    breakpoints, slopes = ladder_segments(params)
    tier = np.searchsorted(breakpoints, _f(net_t), side="right")
    return np.asarray(slopes[tier], dtype=np.float64)


def carbon_settlement_usd(
    net_before_t: ArrayLike, net_after_t: ArrayLike, params: CarbonMarketParams
) -> FloatArray:
    """Incremental ladder cost of a step, $: ``C_ce(ΔQ_after) − C_ce(ΔQ_before)``.

    With ``ΔQ`` the running sum of (emissions − allowance) from the start of the day
    (``ΔQ_0 = 0``, ``C_ce(0) = 0``), the steps' settlements telescope to eq (14) of the day's
    total.
    """
    return ladder_carbon_cost(net_after_t, 0.0, params) - ladder_carbon_cost(
        net_before_t, 0.0, params
    )


def allowance_t(load_mw: ArrayLike, allowance_t_per_mwh: float, dt_h: float) -> FloatArray:
    """Free allowance of a step, t: ``δ · Σ_i P_{i,t}^l · Δt`` (consumption-based quota on
    the served load; ``load_mw`` is the total or per-bus load, summed over the last axis)."""
    load = _f(load_mw)
    total = load.sum(axis=-1) if load.ndim else load
    return np.asarray(allowance_t_per_mwh * total * dt_h, dtype=np.float64)


# ------------------------------------------------------------------ emissions, eq (13)
def step_emissions_t(
    import_mw: ArrayLike,
    upstream_t_per_mwh: ArrayLike,
    gas_turbine_mw: ArrayLike,
    gas_turbine_t_per_mwh: float,
    dt_h: float,
) -> FloatArray:
    """CO2 of a step, t: ``(max(P^UPG, 0)·C^UPG + Σ_g P_g^G·C^G)·Δt`` — the numerator of
    eq (13) times Δt. Exports (``P^UPG < 0``) carry no credit: what the feeder sends
    upstream displaces nothing the DSO is accountable for. ``gas_turbine_mw`` is summed over
    its last axis."""
    gt = _f(gas_turbine_mw)
    gt_total = gt.sum(axis=-1) if gt.ndim else gt
    upstream = np.maximum(_f(import_mw), 0.0) * _f(upstream_t_per_mwh)
    return np.asarray((upstream + gt_total * gas_turbine_t_per_mwh) * dt_h, dtype=np.float64)


def network_carbon_intensity(
    import_mw: ArrayLike,
    upstream_t_per_mwh: ArrayLike,
    gas_turbine_mw: ArrayLike,
    gas_turbine_t_per_mwh: float,
    pv_mw: ArrayLike,
    storage_mw: ArrayLike,
) -> FloatArray:
    """Dynamic carbon intensity of the distribution network, eq (13), t/MWh:

    ``C_t = (P^UPG·C^UPG + Σ_g P_g^G·C^G) / (P^UPG + Σ_g P_g^G + Σ_p P_p^PV + Σ_k |P_k^dis|)``

    over the power *supplied* to the network in the step: ``P^UPG`` enters as
    ``max(P^UPG, 0)`` (an export supplies nothing), ``P_k^dis = max(p_k, 0)`` of the storage
    setpoints; ``gas_turbine_mw``, ``pv_mw`` and ``storage_mw`` are summed over their last
    axis. 0 where nothing is supplied.
    """
    gt, pv, st = _f(gas_turbine_mw), _f(pv_mw), _f(storage_mw)
    gt_total = gt.sum(axis=-1) if gt.ndim else gt
    pv_total = pv.sum(axis=-1) if pv.ndim else pv
    dis = np.maximum(st, 0.0)
    dis_total = dis.sum(axis=-1) if dis.ndim else dis
    up = np.maximum(_f(import_mw), 0.0)
    num = up * _f(upstream_t_per_mwh) + gt_total * gas_turbine_t_per_mwh
    den = up + gt_total + pv_total + dis_total
    safe = np.where(den > _EPS, den, 1.0)
    return np.asarray(np.where(den > _EPS, num / safe, 0.0), dtype=np.float64)


# ------------------------------------------------------------------ storage, eqs (11)–(12)
def storage_energy_update(
    energy_mwh: ArrayLike,
    p_mw: ArrayLike,
    dt_h: float,
    eta_charge: float,
    eta_discharge: float,
) -> FloatArray:
    """Eq (11): ``E_{t+1} = E_t + η^ch·P^ch·Δt − P^dis/η^dis·Δt`` with ``P^dis = max(p, 0)``
    and ``P^ch = max(−p, 0)`` of the grid-side setpoint ``p`` (MW). The limits of eq (12)
    are enforced before, by projecting ``p`` (``projection.storage_power_bounds``)."""
    p = _f(p_mw)
    dis = np.maximum(p, 0.0)
    ch = np.maximum(-p, 0.0)
    return np.asarray(
        _f(energy_mwh) + (eta_charge * ch - dis / eta_discharge) * dt_h, dtype=np.float64
    )


def terminal_energy_price(valley_price_usd_per_mwh: float, eta_charge: float) -> float:
    """Default π_T of :func:`terminal_energy_settlement`, $ per stored MWh: the valley
    tariff / η_ch — the purchase price of one MWh *stored* by charging in the next valley."""
    if not eta_charge > 0:
        raise ValueError(f"eta_charge must be > 0, got {eta_charge!r}")
    return float(valley_price_usd_per_mwh) / float(eta_charge)


def terminal_energy_settlement(
    energy_start_mwh: ArrayLike, energy_end_mwh: ArrayLike, price_usd_per_mwh: float
) -> float:
    """Terminal energy settlement of the day, $: ``C_T = π_T · Σ_k (E_k(0) − E_k(T))``.

    Energy the storages hold less at the end of the day than at its start is bought back at
    π_T per stored MWh (a cost), energy they hold more is credited (a negative cost). Linear
    and symmetric in the end energies, so an optimization stays linear, and the term by itself
    offers no arbitrage as long as π_T is at most what storing a MWh costs during the day
    (with the default valley / η_ch it is exactly the cheapest tariff's price per stored
    MWh, before degradation and losses). Summed over every storage."""
    diff = _f(energy_start_mwh) - _f(energy_end_mwh)
    return float(price_usd_per_mwh) * float(np.sum(diff))


def soc_window_violation(soc: ArrayLike, soc_min: float, soc_max: float) -> FloatArray:
    """Distance of each SOC outside the soft window ``[soc_min, soc_max]`` (0 inside)."""
    s = _f(soc)
    return np.asarray(np.maximum(soc_min - s, 0.0) + np.maximum(s - soc_max, 0.0))


# ------------------------------------------------------------------ DSO cost terms
def energy_purchase_usd(
    import_mw: ArrayLike, price_usd_per_mwh: ArrayLike, dt_h: float
) -> FloatArray:
    """Energy bought over the tie line, $: ``λ_t^{ELE}·P_t^{UPG}·Δt`` (signed: an export,
    ``P^UPG < 0``, is sold at the same tariff)."""
    return np.asarray(_f(price_usd_per_mwh) * _f(import_mw) * dt_h, dtype=np.float64)


def gas_turbine_fuel_usd(p_mw: ArrayLike, a: float, b: float, c: float, dt_h: float) -> FloatArray:
    """Fuel cost of eq (1) per turbine, $: ``(a·P² + b·P + c)·Δt`` (the paper writes
    ``a(PΔt)² + bPΔt + c`` with Δt = 1 h; identical at hourly steps)."""
    p = _f(p_mw)
    return np.asarray((a * p * p + b * p + c) * dt_h, dtype=np.float64)


def storage_degradation_usd(p_mw: ArrayLike, usd_per_mwh: float, dt_h: float) -> FloatArray:
    """Degradation of eq (17), $: ``λ^BESS·(P^ch + |P^dis|)·Δt`` per storage = ``λ^BESS·|p|·Δt``."""
    return np.asarray(usd_per_mwh * np.abs(_f(p_mw)) * dt_h, dtype=np.float64)


def paper_objective_terms(
    load_mw: ArrayLike,
    price_usd_per_mwh: float,
    gt_fuel_usd: float,
    storage_mw: ArrayLike,
    degradation_usd: float,
    dt_h: float,
) -> dict[str, float]:
    """The per-step terms of the paper's eq (1)/(17) objective (carbon trading excluded —
    the paper settles it once a day), $:

    * ``user_purchase`` = ``λ_t·Σ_i P_{i,t}^l·Δt`` — every load bought at the tariff;
    * ``gas_turbine`` = the turbines' fuel cost;
    * ``ses`` = ``Σ_k λ_t·(P_k^ch − |P_k^dis|)·Δt`` — the SES's purchases minus sales;
    * ``ses_degradation`` = ``λ^BESS·Σ_k (P^ch + |P^dis|)·Δt`` (eq (17)).

    Unlike the DSO cost (tie-line purchase), it credits no PV or turbine output against the
    load and does not pay for network losses.
    """
    load = _f(load_mw)
    st = _f(storage_mw)
    return {
        "user_purchase": float(price_usd_per_mwh * load.sum() * dt_h),
        "gas_turbine": float(gt_fuel_usd),
        "ses": float(price_usd_per_mwh * (-st).sum() * dt_h),
        "ses_degradation": float(degradation_usd),
    }
