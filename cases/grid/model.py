"""Network data objects shared by every case: radial feeders and meshed transmission grids.

Units: powers in MW / Mvar / MVA, impedances in ohm, voltages in kV (line-to-line) or per
unit of the nominal voltage. Buses are 0-indexed in arrays; ``bus_number(i) = i + 1`` is the
numbering of the papers (1 at the substation).

The per-unit system used by the power flows: ``S_base = 1 MVA`` and ``V_base = base_kv``,
so that a power in pu equals the same power in MW and ``z_pu = z_ohm / base_kv**2``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["MeshedGrid", "RadialFeeder", "bus_number"]


def bus_number(index: int) -> int:
    """Paper bus number (1 at the substation) of a 0-based bus index."""
    return int(index) + 1


def _readonly(a: np.ndarray, dtype: type = float) -> np.ndarray:
    out = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class _Network:
    """Branch and load data common to every grid; arrays are frozen read-only copies."""

    name: str
    base_kv: float
    from_bus: np.ndarray
    to_bus: np.ndarray
    r_ohm: np.ndarray
    x_ohm: np.ndarray
    load_p_mw: np.ndarray
    load_q_mvar: np.ndarray
    rate_mva: np.ndarray

    _INT_ARRAYS = ("from_bus", "to_bus")
    _FLOAT_ARRAYS = ("r_ohm", "x_ohm", "load_p_mw", "load_q_mvar", "rate_mva")

    def __post_init__(self) -> None:
        for attr in self._INT_ARRAYS:
            object.__setattr__(self, attr, _readonly(getattr(self, attr), np.int64))
        for attr in self._FLOAT_ARRAYS:
            object.__setattr__(self, attr, _readonly(getattr(self, attr)))

    @property
    def n_bus(self) -> int:
        return len(self.load_p_mw)

    @property
    def n_branch(self) -> int:
        return len(self.from_bus)


@dataclass(frozen=True, eq=False)
class RadialFeeder(_Network):
    """A radial distribution feeder fed from one substation (bus 0, the slack).

    Branch ``k`` runs from ``from_bus[k]`` (upstream) to ``to_bus[k]`` (downstream); every
    bus except the substation has exactly one incoming branch. ``rate_mva`` is the branch's
    thermal rating (``inf`` where the source data gives none; a case sets its own limits).
    ``load_p_mw``/``load_q_mvar`` are the nominal (published) bus loads.
    """

    v_slack_pu: float = 1.0
    source: str = ""
    bus_kind: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        super().__post_init__()
        n = self.n_bus
        if len(self.from_bus) != n - 1:
            raise ValueError(
                f"feeder {self.name!r}: a radial feeder with {n} buses needs {n - 1} branches, "
                f"got {len(self.from_bus)}"
            )
        incoming = np.bincount(self.to_bus, minlength=n)
        if incoming[0] != 0 or np.any(incoming[1:] != 1):
            raise ValueError(
                f"feeder {self.name!r} is not radial from bus 1: every other bus needs exactly "
                "one incoming branch"
            )
        if not self.bus_kind:
            object.__setattr__(self, "bus_kind", ("substation",) + ("load",) * (n - 1))

    @property
    def z_base_ohm(self) -> float:
        """Impedance base for ``S_base = 1 MVA``: ``V_base**2 / S_base``."""
        return self.base_kv**2

    def to_pandapower(self, p_mw: np.ndarray | None = None, q_mvar: np.ndarray | None = None):
        """The same feeder as a pandapower net (for validation and for users' re-simulation).

        ``p_mw``/``q_mvar`` are net bus demands (load minus injection); defaults are the
        nominal loads. Lines are 1 km long with the branch impedance per km. Load ``k`` of
        the net sits at bus ``k + 1`` (0-based), so a batch can be written into
        ``net.load.p_mw`` directly.
        """
        import pandapower as pp  # heavy: imported only when asked for

        p = self.load_p_mw if p_mw is None else np.asarray(p_mw, dtype=float)
        q = self.load_q_mvar if q_mvar is None else np.asarray(q_mvar, dtype=float)
        net = pp.create_empty_network(name=self.name, sn_mva=1.0)
        for i in range(self.n_bus):
            pp.create_bus(net, vn_kv=self.base_kv, name=str(bus_number(i)))
        pp.create_ext_grid(net, bus=0, vm_pu=self.v_slack_pu, va_degree=0.0)
        for k in range(self.n_branch):
            pp.create_line_from_parameters(
                net,
                from_bus=int(self.from_bus[k]),
                to_bus=int(self.to_bus[k]),
                length_km=1.0,
                r_ohm_per_km=float(self.r_ohm[k]),
                x_ohm_per_km=float(self.x_ohm[k]),
                c_nf_per_km=0.0,
                max_i_ka=99999.0,
            )
        for i in range(1, self.n_bus):  # one load per bus, in bus order, zero ones included
            pp.create_load(net, bus=i, p_mw=float(p[i]), q_mvar=float(q[i]))
        return net


@dataclass(frozen=True, eq=False)
class MeshedGrid(_Network):
    """A meshed transmission-type grid (IEEE 30-bus) for DC dispatch with an AC check.

    ``gen_bus`` includes the slack generator (the external grid of the pandapower case) as
    generator 0. Costs are ``c2 * P**2 + c1 * P + c0`` in $/h with P in MW, from the
    MATPOWER case data as converted by pandapower.
    """

    gen_bus: np.ndarray
    gen_p_min_mw: np.ndarray
    gen_p_max_mw: np.ndarray
    gen_cost_c2: np.ndarray
    gen_cost_c1: np.ndarray
    gen_cost_c0: np.ndarray
    slack_bus: int = 0
    source: str = ""

    _INT_ARRAYS = (*_Network._INT_ARRAYS, "gen_bus")
    _FLOAT_ARRAYS = (
        *_Network._FLOAT_ARRAYS,
        "gen_p_min_mw", "gen_p_max_mw", "gen_cost_c2", "gen_cost_c1", "gen_cost_c0",
    )  # fmt: skip

    @property
    def n_gen(self) -> int:
        return len(self.gen_bus)
