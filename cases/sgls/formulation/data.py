"""The data of one SGLS dispatch block (:class:`BlockData`, cut from a day by
:func:`block_data`) and the end-of-day SOC floor every block that ends the day must meet."""

from __future__ import annotations

import dataclasses

import numpy as np

from gridbench.cases.sgls.config import SglsConfig
from gridbench.cases.sgls.day import FloatArray, SglsDay
from gridbench.cases.sgls.formulation.network import idle_flow, idle_line_flows

__all__ = ["BlockData", "block_data", "return_floor"]


@dataclasses.dataclass(frozen=True)
class BlockData:
    """Data of one block: ``T`` steps of ``dt`` h. ``net``: load − renewables (MW, ``(T,)``),
    ``loss`` estimate, ``price`` ($/MWh), ``base`` (``(T, F)``, flexible base demand, 0 where a
    shift is outside its window), ``rest`` (``(F,)``, shiftable energy left in the window after
    the block, MWh), ``active`` (``(T,)``, 1 for real steps, 0 for padding)."""

    dt: float
    net: FloatArray
    loss: FloatArray
    price: FloatArray
    base: FloatArray
    rest: FloatArray
    active: FloatArray
    v_idle: FloatArray | None = None  # (T, M) voltages of the monitored buses, devices idle
    flow_idle: FloatArray | None = None  # (T, L) DC line flows (MW), devices idle (IEEE 30)

    @property
    def T(self) -> int:
        return int(self.net.shape[0])


def return_floor(config: SglsConfig, steps_after: int, dt: float = 0.25) -> FloatArray:
    """SOC per storage from which the referee's end-of-day return is still reachable with
    ``steps_after`` steps of ``dt`` h left (:func:`~gridbench.cases.projection.
    storage_return_floor`; ``steps_after = 0``: the initial SOC itself)."""
    from gridbench.cases.projection import storage_return_floor

    st = config.storage
    return np.asarray(storage_return_floor(
        np.array([s.soc0 for s in st]), steps_after, np.array([s.e_mwh for s in st]),
        np.array([s.p_max_mw for s in st]), dt, np.array([s.eta_charge for s in st])),
        dtype=float)


def block_data(config: SglsConfig, data: SglsDay, start: int = 0, length: int | None = None,
               pad_to: int | None = None, loss: FloatArray | None = None) -> BlockData:
    """Block data for steps ``start … start+length−1`` of ``data`` (padded with inactive steps
    to ``pad_to``)."""
    n = data.n_steps
    length = n - start if length is None else min(length, n - start)
    sl = slice(start, start + length)
    dt = data.step_hours
    t_h = np.arange(n) * dt
    base = np.array(data.flex_base_mw)
    rest = np.zeros(len(config.flexible))
    for j, f in enumerate(config.flexible):
        if f.kind == "shift":
            inside = (t_h >= f.window_h[0]) & (t_h < f.window_h[1])
            base[~inside, j] = 0.0
            rest[j] = float(base[start + length:, j].sum() * dt)
    net = data.load_p_mw.sum(axis=1) - data.renewable_mw
    los, vid = idle_flow(config, data)
    if loss is not None:
        los = np.asarray(loss)
    flows = idle_line_flows(config, data)
    out = BlockData(dt, net[sl].copy(), los[sl].copy(), np.array(data.price_usd_per_mwh[sl]),
                    base[sl].copy(), rest, np.ones(length), vid[sl].copy(), flows[sl].copy())
    if pad_to is not None and pad_to > length:
        extra = pad_to - length

        def pad(a: FloatArray, value: float | None = None) -> FloatArray:
            tail = np.repeat(a[-1:], extra, axis=0) if value is None else np.full(
                (extra, *a.shape[1:]), value)
            return np.concatenate([a, tail])

        out = BlockData(dt, pad(out.net), pad(out.loss), pad(out.price), pad(out.base, 0.0),
                        rest, pad(out.active, 0.0), pad(out.v_idle), pad(out.flow_idle))
    return out
