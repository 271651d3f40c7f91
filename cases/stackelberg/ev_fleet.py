"""The overnight EV fleet at bus 38 and its aggregate virtual battery (spec §3 "EV virtual
battery", §4 "EV fleet").

:func:`sample_fleet` draws the day's vehicles (seeded by the day); :func:`virtual_battery`
aggregates them per clock hour ``t = 0..23`` into the data of the storage player's EV block
(:func:`llf_unmet_energy` goes the other way: it shares an aggregate schedule out to the
vehicles and reports what they miss at departure, spec §7)::

    X_t = X_{t−1} − Ξdep_t + Ξarr_t + η_EV·pev_t,   X_{−1} = X_23 = X_0 (a cyclic day)
    Xmin_t ≤ X_t ≤ Xmax_t,   0 ≤ pev_t ≤ Σ_{i present at t} p̄_i

``X_t`` is the energy in the connected EVs at the end of hour ``t``; ``Ξarr_t`` the energy
brought by the vehicles arriving at the start of hour ``t`` (``SOC_arr·cap``), ``Ξdep_t`` the
energy taken by those leaving then (``SOC_dep·cap``); ``Xmin_t`` = Σ over the vehicles leaving
at ``t + 1`` of ``SOC_dep·cap`` plus Σ over the others present of ``soc_floor·cap``;
``Xmax_t`` = Σ over those present of ``cap``. A vehicle arriving at hour ``a`` (12–23) and
leaving at ``d`` (0–11, the next morning) is present in hours ``a..23`` and ``0..d−1``; the
cyclic day closes the night across midnight. ``η_EV`` is the fleet's mean charging efficiency
(one aggregate). Each vehicle's need ``(SOC_dep − SOC_arr)·cap`` is capped at
``η·p̄·dwell`` so that every vehicle can be served (a choice, spec §4).

The day closes at a fixed midnight energy ``X_0`` (:func:`midnight_energy`): what the
connected vehicles hold at midnight when each charges as soon as it arrives (every vehicle is
connected then: arrivals 12–23 h, departures the next morning). The spec's cyclic day leaves
``X_{−1} = X_23`` free; a referee has to start the day from a known state, so the storage
player starts from ``X_0`` and hands the night on with the same energy (like its batteries'
``E_23 = E_init``; a departure from the spec, ``README.md``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.stackelberg.config import EvFleetParams

__all__ = [
    "EvFleet",
    "VirtualBattery",
    "asap_charging",
    "llf_unmet_energy",
    "midnight_energy",
    "sample_fleet",
    "virtual_battery",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class EvFleet:
    """One day's vehicles: arrival and departure clock hours, capacity (MWh), charger (MW),
    efficiency, state of charge at arrival and required at departure."""

    arrival_h: IntArray
    departure_h: IntArray
    capacity_mwh: FloatArray
    charger_mw: FloatArray
    efficiency: FloatArray
    soc_arrival: FloatArray
    soc_departure: FloatArray

    @property
    def n(self) -> int:
        return int(self.arrival_h.size)

    def present(self) -> NDArray[np.bool_]:
        """``(24, n)``: whether vehicle ``i`` is connected during hour ``t``."""
        t = np.arange(24)[:, None]
        return (t >= self.arrival_h[None, :]) | (t < self.departure_h[None, :])

    def dwell_h(self) -> IntArray:
        return (24 - self.arrival_h) + self.departure_h


def _truncated_normal(rng: np.random.Generator, mean: float, std: float, lo: float, hi: float,
                      n: int) -> FloatArray:
    """Draws of N(mean, std²) restricted to [lo, hi) by rejection (std 0: the clipped mean)."""
    if std == 0:
        return np.full(n, float(np.clip(mean, lo, hi)))
    out = np.empty(0)
    while out.size < n:
        draw = rng.normal(mean, std, 4 * n)
        out = np.concatenate([out, draw[(draw >= lo) & (draw < hi)]])
    return out[:n]


def sample_fleet(params: EvFleetParams, day: datetime.date) -> EvFleet:
    """The fleet of ``day``: ``params.n_ev`` vehicles from the spec's distributions, seeded by
    ``params.seed + day.toordinal()`` (the same day, the same fleet)."""
    rng = np.random.default_rng(params.seed + day.toordinal())
    n = params.n_ev
    arrival = np.floor(_truncated_normal(rng, params.arrival_mean_h, params.arrival_std_h,
                                         12.0, 24.0, n)).astype(np.int64)
    departure = np.floor(_truncated_normal(rng, params.departure_mean_h, params.departure_std_h,
                                           0.0, 12.0, n)).astype(np.int64)
    capacity = rng.uniform(*params.capacity_kwh, n) / 1000.0
    charger = rng.uniform(*params.charger_kw, n) / 1000.0
    efficiency = rng.uniform(*params.efficiency, n)
    soc_arr = _truncated_normal(rng, params.soc_arrival_mean, params.soc_arrival_std,
                                *params.soc_arrival_range, n)
    soc_dep = _truncated_normal(rng, params.soc_departure_mean, params.soc_departure_std,
                                *params.soc_departure_range, n)
    dwell = (24 - arrival) + departure
    reachable = soc_arr + efficiency * charger * dwell / capacity
    soc_dep = np.minimum(soc_dep, reachable)
    return EvFleet(arrival, departure, capacity, charger, efficiency, soc_arr, soc_dep)


@dataclass(frozen=True)
class VirtualBattery:
    """The EV block's hourly data (module docstring), MW and MWh, each shaped ``(24,)``."""

    arrival_energy: FloatArray
    departure_energy: FloatArray
    energy_min: FloatArray
    energy_max: FloatArray
    charge_max: FloatArray
    efficiency: float
    #: ``X_0``, the energy in the connected vehicles at midnight, at both ends of the day.
    midnight_mwh: float

    @property
    def need_mwh(self) -> float:
        """Energy the fleet must take from the grid over the day: ``Σ (Ξdep − Ξarr)/η``."""
        return float((self.departure_energy.sum() - self.arrival_energy.sum()) / self.efficiency)


def virtual_battery(fleet: EvFleet, soc_floor: float) -> VirtualBattery:
    """Aggregate ``fleet`` per clock hour (module docstring)."""
    present = fleet.present()
    hours = np.arange(24)
    arr = np.zeros(24)
    dep = np.zeros(24)
    np.add.at(arr, fleet.arrival_h, fleet.soc_arrival * fleet.capacity_mwh)
    np.add.at(dep, fleet.departure_h, fleet.soc_departure * fleet.capacity_mwh)
    leaving_next = fleet.departure_h[None, :] == (hours[:, None] + 1) % 24
    staying = present & ~leaving_next
    e_min = (leaving_next * (fleet.soc_departure * fleet.capacity_mwh)).sum(axis=1) + (
        staying * (soc_floor * fleet.capacity_mwh)).sum(axis=1)
    e_max = (present * fleet.capacity_mwh).sum(axis=1)
    p_max = (present * fleet.charger_mw).sum(axis=1)
    return VirtualBattery(arr, dep, e_min, e_max, p_max, float(fleet.efficiency.mean()),
                          midnight_energy(fleet))


def _asap_per_vehicle(fleet: EvFleet) -> FloatArray:
    """``(24, n)``: vehicle ``i``'s grid power in clock hour ``t`` when it charges at its full
    charger power from arrival until its need is met (the last hour partial); each vehicle's
    energy from the grid is its need over its own efficiency."""
    out = np.zeros((24, fleet.n))
    need = (fleet.soc_departure - fleet.soc_arrival) * fleet.capacity_mwh / fleet.efficiency
    for i in range(fleet.n):
        left = need[i]
        for k in range(int(fleet.dwell_h()[i])):
            if left <= 0:
                break
            p = min(fleet.charger_mw[i], left)
            out[(fleet.arrival_h[i] + k) % 24, i] += p
            left -= p
    return out


def midnight_energy(fleet: EvFleet) -> float:
    """``X_0`` (MWh): the energy in the vehicles at midnight under as-soon-as-possible
    charging, ``Σ_i SOC_arr,i·cap_i + η_i·(energy charged from arrival to midnight)``."""
    evening = _asap_per_vehicle(fleet)
    charged = np.array([evening[fleet.arrival_h[i]:, i].sum() for i in range(fleet.n)])
    return float((fleet.soc_arrival * fleet.capacity_mwh + fleet.efficiency * charged).sum())


def asap_charging(fleet: EvFleet) -> FloatArray:
    """Uncontrolled charging (the CSESS variant): each vehicle at its full charger power from
    arrival until its need is met (the last hour partial); MW per clock hour, ``(24,)``. Each
    vehicle's energy from the grid is its need over its own efficiency."""
    return _asap_per_vehicle(fleet).sum(axis=1)


#: The night in charging order: the evening's arrival hours 12–23, then the morning's 0–11.
_NIGHT_ORDER: tuple[int, ...] = (*range(12, 24), *range(12))


def llf_unmet_energy(fleet: EvFleet, ev_mw: FloatArray) -> float:
    """EV unmet energy (MWh, spec §7, a diagnostic): the aggregate grid power ``ev_mw``
    (``(24,)``, clock hours) shared out to the vehicles least-laxity-first, hour by hour in
    the order of the night (12–23, then 0–11: every stay lies in it), and the energy each
    vehicle still lacks of its departure SOC when it leaves, summed.

    Vehicle ``i`` needs ``r_i = (SOC_dep − SOC_arr)·cap/η`` from the grid; in hour ``t`` the
    vehicles present with ``r_i > 0`` are served in increasing laxity
    ``ℓ_i = h_i − r_i/p̄_i`` (``h_i``: its hours left, this one included), each up to
    ``min(p̄_i, r_i)``, until the hour's ``ev_mw[t]`` is spent (power beyond what the
    present vehicles can take is not delivered). Unmet energy = ``Σ_i η_i·r_i`` at the end.
    The virtual battery keeps the *aggregate* feasible; a schedule that honours it can still
    leave vehicles short once it is disaggregated, and this says by how much."""
    power = np.asarray(ev_mw, dtype=float).reshape(24)
    need = (fleet.soc_departure - fleet.soc_arrival) * fleet.capacity_mwh / fleet.efficiency
    need = np.maximum(need, 0.0)
    present = fleet.present()
    # hours left in the stay at the start of each clock hour (night order), per vehicle
    position = {t: k for k, t in enumerate(_NIGHT_ORDER)}
    leave = np.array([position[int(d)] for d in fleet.departure_h])  # leaves as hour d starts
    for t in _NIGHT_ORDER:
        budget = max(float(power[t]), 0.0)
        here = np.flatnonzero(present[t] & (need > 1e-12))
        if budget <= 0.0 or here.size == 0:
            continue
        hours_left = leave[here] - position[t]
        laxity = hours_left - need[here] / fleet.charger_mw[here]
        for i in here[np.argsort(laxity, kind="stable")]:
            give = min(fleet.charger_mw[i], need[i], budget)
            need[i] -= give
            budget -= give
            if budget <= 1e-12:
                break
    return float((fleet.efficiency * need).sum())
