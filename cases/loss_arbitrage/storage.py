"""Remaining-available-energy model of the batteries and supercapacitors (paper Table 1).

Per device, over a step of ``Δt`` hours, with ``x`` the DC power at the cell terminals
(``x > 0`` discharges; grid side ``p = η_d·x`` when discharging, ``p = x/η_c`` when
charging, so the converter losses sit between grid and cell):

**Joule heat** (Table 1, ``S_i`` the internal resistance): ``J = I²·S_i = ρ·x²`` MW with
``ρ = r_J / P_rated`` (current ∝ DC power at the nominal cell voltage; ``r_J`` the fraction of
rated power lost at rated current). The cell's energy after the step::

    E' = E − (x + ρ·x²)·Δt                                                    (S1)

i.e. a discharge draws its joule heat from the cell on top of ``x``, a charge stores ``|x|``
minus it. Summed over the day, ``E(t) = F_b(t) − ∫ I²·S_i dt`` with ``F_b`` the theoretical
energy the SOC bookkeeping of the converter would give: the paper's ``F_b − ∫ I S_i dt``
with the dimensionally correct ``I²`` (deviation 1 of ``README.md``).

**Polarization energy** ``F_c(T, I)`` (Table 1, "large in the cold"): the energy the cut-off
voltage locks away at current ``I`` and cell temperature ``T``, an Arrhenius law::

    F_c = κ(T)·|x|,   κ(T) = φ·E_cap/P_rated · exp(B·(1/T − 1/T_ref))   (h)      (S2)

A discharge current reaches the lower cut-off ``F_c`` early, a charge current the upper one:
the available energy after a step with current ``x`` is::

    F_a' = E' − κ(T)·x          (= E' − F_c discharging,  E' + F_c charging)      (S3)

and the referee keeps ``F_min ≤ F_a' ≤ F_max`` (paper: ``F^min ≤ F_a(t) ≤ F^max``). At rest
``F_a = E``. ``T`` is the cell temperature at the start of the step.

**Cell temperature**: first order towards the ambient ``T_a`` with the joule heat as source::

    T' = T_a + (T − T_a)·α + (1 − α)·R_th·J,   α = exp(−Δt/τ)                      (S4)

**Cycle count** (paper: at most one charge–discharge cycle a day): equivalent full cycles on
the DC throughput, ``EFC = Σ|x|·Δt / (2·(F_max − F_min))``; the referee keeps
``Σ|x|·Δt ≤ 2·N_cyc·(F_max − F_min)`` (the remaining budget bounds each step's ``|x|``).

:func:`power_bounds` turns (S1)–(S3), the power rating and the remaining budget into the
grid-side interval of each device's setpoint (exact: ``F_a'(x)`` is a concave decreasing
quadratic on the feasible range, so each bound is a root). The kernels are compiled with
numba: the referee calls them every step.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from gridbench.cases.loss_arbitrage.config import DeviceArrays

__all__ = [
    "ADVANCE_ROWS",
    "KELVIN",
    "advance",
    "advance_rows",
    "available_after",
    "dc_power",
    "energy_after",
    "grid_power",
    "polarization_coeff",
    "power_bounds",
    "step_energy_reach",
    "terminal_dc_power",
    "thermal_step",
]

FloatArray = NDArray[np.float64]
#: 0 °C in K.
KELVIN = 273.15


def polarization_coeff(dev: DeviceArrays, temp_c: FloatArray | float) -> FloatArray:
    """``κ(T)`` of (S2), h (MWh locked per MW of DC power), per device; ``temp_c`` per device
    (or broadcast), °C. One temperature per device (the referee's every step) takes the
    compiled kernel."""
    if type(temp_c) is np.ndarray and temp_c.shape == (dev.n,) and temp_c.dtype == np.float64:
        out = np.empty(dev.n)
        _polarization(dev.pol, dev.pol_b, dev.pol_ref_k, temp_c, out)
        return out
    t_k = np.asarray(temp_c, dtype=float) + KELVIN
    return dev.pol * np.exp(dev.pol_b * (1.0 / t_k - 1.0 / dev.pol_ref_k))


@njit(cache=True)
def _polarization(pol, pol_b, ref_k, temp, out):  # pragma: no cover - compiled
    for i in range(temp.shape[0]):
        out[i] = pol[i] * math.exp(pol_b[i] * (1.0 / (temp[i] + KELVIN) - 1.0 / ref_k[i]))


def dc_power(p: FloatArray, dev: DeviceArrays) -> FloatArray:
    """DC power at the cell terminals of grid-side setpoints ``p`` (MW)."""
    p = np.asarray(p, dtype=float)
    return np.where(p > 0.0, p / dev.eta_d, p * dev.eta_c)


def grid_power(x: FloatArray, dev: DeviceArrays) -> FloatArray:
    """Grid-side setpoints of DC powers ``x`` (MW)."""
    x = np.asarray(x, dtype=float)
    return np.where(x > 0.0, x * dev.eta_d, x / dev.eta_c)


def energy_after(e: FloatArray, x: FloatArray, dev: DeviceArrays, dt: float) -> FloatArray:
    """(S1): cell energy after a step of DC power ``x``, MWh."""
    x = np.asarray(x, dtype=float)
    return np.asarray(e, dtype=float) - (x + dev.joule * x * x) * dt


def available_after(e_next: FloatArray, x: FloatArray, kappa: FloatArray) -> FloatArray:
    """(S3): available energy after the step, MWh."""
    return np.asarray(e_next, dtype=float) - np.asarray(kappa) * np.asarray(x, dtype=float)


def thermal_step(
    temp_c: FloatArray, ambient_c: float | FloatArray, heat_mw: FloatArray, dev: DeviceArrays,
    dt: float,
) -> FloatArray:
    """(S4): cell temperature after the step, °C."""
    alpha = np.exp(-dt / dev.tau_h)
    amb = np.asarray(ambient_c, dtype=float)
    return amb + (np.asarray(temp_c) - amb) * alpha + (1.0 - alpha) * dev.r_th * heat_mw


def power_bounds(
    dev: DeviceArrays,
    energy: FloatArray,
    kappa: FloatArray,
    budget_left: FloatArray,
    dt: float,
    target: FloatArray | None = None,
    steps_after: int = 0,
) -> tuple[FloatArray, FloatArray]:
    """Grid-side ``(p_low, p_high)`` per device keeping (S3) in the window, the rating and the
    cycle budget.

    With ``target`` (the end-of-day energy ``E(0)``) and ``steps_after`` (the steps left in the
    day after this one):

    * ``steps_after == 0`` (the last step): both bounds collapse onto the setpoint that brings
      ``E'`` to ``target`` (clipped into the interval);
    * ``steps_after = k > 0``: the interval is narrowed to the setpoints after which
      ``target`` is still **reachable** in the ``k`` remaining steps (:func:`reachable_band`:
      at most ``k`` full-rating steps away, with enough cycle budget left to come back). The
      window, the rating and the budget keep priority: where the band and the interval do
      not meet, the bound nearest to the band is kept (never an empty interval).
    """
    n = dev.n
    low, high = np.empty(n), np.empty(n)
    _bounds(
        np.asarray(energy, dtype=float), np.asarray(kappa, dtype=float),
        np.asarray(budget_left, dtype=float), dev.p_max, dev.eta_c, dev.eta_d, dev.joule,
        dev.f_min, dev.f_max, float(dt), target is not None,
        np.zeros(n) if target is None else np.asarray(target, dtype=float), int(steps_after),
        low, high,
    )  # fmt: skip
    return low, high


def step_energy_reach(dev: DeviceArrays, dt: float) -> tuple[FloatArray, FloatArray]:
    """``(g_up, g_down)``: the most a device's energy can rise (charging at the rating, joule
    heat deducted) and fall (discharging at the rating, joule heat added) in one step, MWh."""
    g_up, g_down = np.empty(dev.n), np.empty(dev.n)
    for i in range(dev.n):
        g_up[i], g_down[i] = _reach(dev.p_max[i], dev.eta_c[i], dev.eta_d[i], dev.joule[i], dt)
    return g_up, g_down


def terminal_dc_power(
    energy: FloatArray, target: FloatArray, dev: DeviceArrays, dt: float
) -> FloatArray:
    """DC power ``x`` with ``E'(x) = target`` in (S1) (unclipped)."""
    out = np.empty(dev.n)
    for i in range(dev.n):
        out[i] = _solve_energy(float(energy[i]) - float(target[i]), float(dev.joule[i]) * dt, dt)
    return out


def advance(
    dev: DeviceArrays, p: FloatArray, energy: FloatArray, kappa: FloatArray,
    cell_temp: FloatArray, budget_left: FloatArray, ambient_c: float, alpha: FloatArray,
    dt: float,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:  # fmt: skip
    """One step of (S1)–(S4) for grid-side setpoints ``p`` already within
    :func:`power_bounds`: ``(energy', available', cell_temp', budget_left', heat)``; the
    window clip only absorbs round-off."""
    out = advance_rows(dev, p, energy, kappa, cell_temp, budget_left, ambient_c, alpha, dt)
    return out[0], out[1], out[2], out[3], out[4]


#: Rows of :func:`advance_rows`.
ADVANCE_ROWS = (
    "energy_mwh", "available_mwh", "cell_temp_c", "budget_left_mwh", "heat_mw", "cycles",
    "soc", "arbitrage_usd",
)  # fmt: skip


def advance_rows(
    dev: DeviceArrays, p: FloatArray, energy: FloatArray, kappa: FloatArray,
    cell_temp: FloatArray, budget_left: FloatArray, ambient_c: float, alpha: FloatArray,
    dt: float, price: float = 0.0,
) -> FloatArray:  # fmt: skip
    """:func:`advance` and the step's per-device accounting in one compiled pass: an array of
    shape ``(8, n)``, rows :data:`ADVANCE_ROWS` (the first five as :func:`advance`; then the
    equivalent full cycles used so far ``(B_day − B')/(2·(F_max − F_min))``, the SOC
    ``E'/E_cap`` and the arbitrage revenue ``price·p·Δt``)."""
    out = np.empty((8, dev.n))
    _advance(
        np.asarray(p, dtype=float), energy, kappa, cell_temp, budget_left, dev.eta_c, dev.eta_d,
        dev.joule, dev.f_min, dev.f_max, dev.r_th, alpha, float(ambient_c), float(dt),
        dev.budget, dev.e_cap, float(price), out,
    )  # fmt: skip
    return out


@njit(cache=True)
def _advance(p, e, kappa, temp, budget, eta_c, eta_d, joule, f_min, f_max, r_th, alpha, amb, dt,
             budget_day, e_cap, price, out):  # pragma: no cover - compiled  # fmt: skip
    for i in range(p.shape[0]):
        x = p[i] / eta_d[i] if p[i] > 0.0 else p[i] * eta_c[i]
        heat = joule[i] * x * x
        e_next = min(max(e[i] - (x + heat) * dt, f_min[i]), f_max[i])
        left = max(budget[i] - abs(x) * dt, 0.0)
        out[0, i] = e_next
        out[1, i] = min(max(e_next - kappa[i] * x, f_min[i]), f_max[i])
        out[2, i] = amb + (temp[i] - amb) * alpha[i] + (1.0 - alpha[i]) * r_th[i] * heat
        out[3, i] = left
        out[4, i] = heat
        out[5, i] = (budget_day[i] - left) / (2.0 * (f_max[i] - f_min[i]))
        out[6, i] = e_next / e_cap[i]
        out[7, i] = price * p[i] * dt


@njit(cache=True)
def _root_down(c: float, a: float, b: float) -> float:  # pragma: no cover - compiled
    """Largest ``x`` with ``a·x² + b·x ≤ c`` on the decreasing branch (a ≥ 0, b > 0):
    ``x = 2c / (b + sqrt(b² + 4ac))``; ``−b / 2a`` (the vertex) when the root does not exist."""
    disc = b * b + 4.0 * a * c
    if disc <= 0.0:
        return -b / (2.0 * a) if a > 0.0 else -math.inf
    return 2.0 * c / (b + math.sqrt(disc))


@njit(cache=True)
def _solve_energy(delta: float, a: float, dt: float) -> float:  # pragma: no cover - compiled
    """``x`` with ``(x + ρx²)·Δt = delta`` (``a = ρ·Δt``)."""
    return _root_down(delta, a, dt)


@njit(cache=True)
def _reach(p_max, eta_c, eta_d, rho, dt):  # pragma: no cover - compiled
    """``(g_up, g_down)`` of :func:`step_energy_reach` for one device."""
    x_c = p_max * eta_c
    if rho > 0.0 and 2.0 * rho * x_c > 1.0:  # the stored energy peaks below the rating
        x_c = 1.0 / (2.0 * rho)
    x_d = p_max / eta_d
    return (x_c - rho * x_c * x_c) * dt, (x_d + rho * x_d * x_d) * dt


#: Reserve of the reachability band, MWh: a step may not leave less than this much slack on
#: the way back, so that float round-off never eats the last bit of the cycle budget (a cell
#: then ends within ~1e-8 MWh of E(0)); a returning plan is cut by at most about this much.
_BAND_TOL = 1e-7


@njit(cache=True)
def _way_back_slack(x, e, target, budget, k, x_c, x_d, rho, dt):  # pragma: no cover
    """How much more than the gap to ``target`` the ``k`` steps after a step of DC power ``x``
    can still move the cell (MWh; ``≥ 0``: the target is reachable); see :func:`_band`."""
    e_next = e - (x + rho * x * x) * dt
    left = budget - abs(x) * dt
    if left < 0.0:  # the step itself overdraws the budget
        return left
    gap = target - e_next
    if gap > 0.0:
        # back up: the most k charges of total throughput ≤ left store is the even split
        y = min(x_c, left / (k * dt))
        return k * dt * (y - rho * y * y) - gap
    # back down: k discharges of throughput ≤ left draw at least that throughput (their joule
    # heat comes on top, but counting on it would make the band a union of intervals: only
    # the one precise full discharge would get back from an edge state)
    return min(left, k * x_d * dt) + gap


@njit(cache=True)
def _last_ok(ok, bad, e, target, budget, k, x_c, x_d, rho, dt):  # pragma: no cover
    """Bisection between a reachable ``ok`` and an unreachable ``bad`` setpoint: the
    reachable end of the crossing."""
    for _ in range(50):
        mid = 0.5 * (ok + bad)
        if _way_back_slack(mid, e, target, budget, k, x_c, x_d, rho, dt) >= _BAND_TOL:
            ok = mid
        else:
            bad = mid
    return ok


@njit(cache=True)
def _band(e, target, budget, steps_after, p_max, eta_c, eta_d, rho, dt):  # pragma: no cover
    """DC-power interval ``(x_lo, x_hi)`` after which ``target`` is still reachable in the
    ``k = steps_after`` remaining steps (the window aside): with ``D`` the gap left and ``B``
    the cycle budget left after the step,

    * back up (``E' < target``): ``k`` charges of total throughput ``Y ≤ B`` store at most
      ``k·Δt·(ȳ − ρȳ²)`` with ``ȳ = min(x_c, B/(kΔt))`` (joule heat is convex: the even
      split loses least), so ``D ≤ k·Δt·(ȳ − ρȳ²)`` — exact;
    * back down (``E' > target``): ``D ≤ min(B, k·x_d·Δt)``, i.e. the discharge's own joule
      heat is not counted on. Exact for a lossless cell; with heat it is slightly stricter
      than necessary (by ``ρ·x²·Δt`` per step, ≤ 0.3 % of the move at the rating), the price of
      an interval: counting on the heat, an edge state could only get back by one precise
      full discharge.

    So the band never admits a state with no way back, and cuts a returning plan only by
    that heat margin on its way down (the oracle's plans replay unmoved:
    ``tests/test_loss_arbitrage.py``).

    Search: the slack never exceeds the budget left ``B`` (both branches are at most ``B``
    minus the step's own throughput), it only falls away from the target and rises, then
    falls towards it. So with rest reachable each edge is one bisection from 0; otherwise the
    peak towards the target is found first (grid, then a ternary search only if the grid
    found no reachable point) and the edges bisected from it. With no reachable point at all
    the band is the closest approach (the peak).
    """
    x_c = p_max * eta_c
    if rho > 0.0 and 2.0 * rho * x_c > 1.0:  # stored energy peaks below the rating
        x_c = 1.0 / (2.0 * rho)
    x_d = p_max / eta_d
    k = float(steps_after)
    b = max(budget, 0.0)
    # the full-rating moves towards the target and away from it
    toward, away = (x_d, -x_c) if e > target else (-x_c, x_d)
    args = (e, target, b, k, x_c, x_d, rho, dt)
    rest_ok = _way_back_slack(0.0, *args) >= _BAND_TOL
    toward_ok = _way_back_slack(toward, *args) >= _BAND_TOL
    away_ok = _way_back_slack(away, *args) >= _BAND_TOL
    if rest_ok and toward_ok and away_ok:  # most of the day: nothing to narrow
        return min(toward, away), max(toward, away)
    if rest_ok:
        # away from the target the slack only falls, towards it it rises then falls: on
        # either side the reachable set is an interval holding 0, one crossing per side
        near = away if away_ok else _last_ok(0.0, away, *args)
        far = toward if toward_ok else _last_ok(0.0, toward, *args)
        return min(near, far), max(near, far)
    # rest has no way back: find the peak of the slack towards the target (a 32-interval
    # grid, then, unless the grid already found a reachable point, a ternary search around
    # the best grid point), then each edge by bisection from it
    best, best_slack = 0.0, _way_back_slack(0.0, *args)
    for j in range(1, 33):
        x = toward * (j / 32.0)
        sl = _way_back_slack(x, *args)
        if sl > best_slack:
            best, best_slack = x, sl
    if best_slack < _BAND_TOL:
        step = toward / 32.0
        lo_t, hi_t = best - step, best + step
        for _ in range(60):
            m1 = lo_t + (hi_t - lo_t) / 3.0
            m2 = hi_t - (hi_t - lo_t) / 3.0
            if _way_back_slack(m1, *args) < _way_back_slack(m2, *args):
                lo_t = m1
            else:
                hi_t = m2
        mid = 0.5 * (lo_t + hi_t)
        if abs(mid) <= abs(toward) and mid * toward >= 0.0:
            sl = _way_back_slack(mid, *args)
            if sl > best_slack:
                best, best_slack = mid, sl
    if best_slack < _BAND_TOL:
        # no way back at all (the window or the budget already cut it): the closest approach
        return best, best
    near = _last_ok(best, 0.0, *args)
    far = toward if toward_ok else _last_ok(best, toward, *args)
    return min(near, far), max(near, far)


@njit(cache=True)
def _bounds(e, kappa, budget, p_max, eta_c, eta_d, joule, f_min, f_max, dt, terminal, target,
            steps_after, low, high):  # pragma: no cover - compiled  # fmt: skip
    """Fill ``low``/``high`` (grid side, MW); see :func:`power_bounds`."""
    for i in range(e.shape[0]):
        a = joule[i] * dt
        b = dt + kappa[i]
        # F_a'(x) = e − b·x − a·x² >= f_min  ⇔  a x² + b x <= e − f_min
        x_hi = _root_down(e[i] - f_min[i], a, b)
        # F_a'(x) <= f_max  ⇔  a x² + b x >= e − f_max  ⇔  x >= root (e − f_max <= 0)
        x_lo = _root_down(e[i] - f_max[i], a, b)
        step_budget = max(budget[i], 0.0) / dt
        x_hi = min(x_hi, p_max[i] / eta_d[i], step_budget)
        x_lo = max(x_lo, -p_max[i] * eta_c[i], -step_budget)
        # resting is always allowed (E stays in the window); guards round-off
        x_hi = max(x_hi, 0.0)
        x_lo = min(x_lo, 0.0)
        if terminal and steps_after == 0:
            x = _solve_energy(e[i] - target[i], a, dt)
            x = min(max(x, x_lo), x_hi)
            x_lo = x
            x_hi = x
        elif terminal:
            b_lo, b_hi = _band(e[i], target[i], budget[i], steps_after, p_max[i], eta_c[i],
                               eta_d[i], joule[i], dt)  # fmt: skip
            if b_lo > b_hi:  # time and budget disagree (a state already off the band)
                b_lo = b_hi = 0.5 * (b_lo + b_hi)
            # the band clipped into the physical interval (nearest edge when they miss)
            new_lo = max(x_lo, min(b_lo, x_hi))
            new_hi = min(x_hi, max(b_hi, x_lo))
            x_lo, x_hi = new_lo, new_hi
        low[i] = x_lo / eta_c[i] if x_lo < 0.0 else x_lo * eta_d[i]
        high[i] = x_hi / eta_c[i] if x_hi < 0.0 else x_hi * eta_d[i]
