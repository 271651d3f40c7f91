"""The SOCP's variables (:class:`Variables`, :func:`define_variables`) and how each behaves in
a padded slot (:class:`SlotPadding`, which the active-slot re-solver reads).

Per slot ``k`` of the horizon ``H``: branch flows ``P_ij, Q_ij`` (sending end), squared
currents ``ℓ_ij``, squared voltages ``v_j`` (of the bus each branch feeds), turbine outputs
``P_g``, storage charge and discharge powers ``P_s^ch, P_s^dis ≥ 0`` (separate, no binaries;
the executed setpoint is ``p_s = P_s^dis − P_s^ch``), the import ``P^imp ≥ max(P^UPG, 0)``
and the SOC-window slacks ``σ^lo, σ^hi ≥ 0`` (MWh); the stored energies ``E_s`` have ``H + 1``
rows (before slot 0, then after each); the ladder epigraph ``z`` is one scalar.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import TYPE_CHECKING

from gridbench.cases.grid import branch_flow as bf

if TYPE_CHECKING:
    import cvxpy as cp

__all__ = ["SlotPadding", "Variables", "define_variables"]


class SlotPadding(StrEnum):
    """What a variable's rows are in an inactive (padded) slot, where loads, PV, prices,
    intensities and device limits are 0 and the SOC window costs nothing."""

    #: not per slot (the ladder epigraph): always kept
    KEPT = "kept"
    #: a device power whose limits are 0..0: fixed at 0
    ZERO_FIXED = "zero_fixed"
    #: a network variable or slack that costs nothing and meets no active slot's constraint
    FREE = "free"
    #: the stored energy, constant over the padded slots: equal to the last active one's
    HELD = "held"


#: The ``field`` metadata of each kind (:meth:`Variables.by_padding` reads it).
_KEPT, _ZERO_FIXED, _FREE, _HELD = ({"padding": kind} for kind in SlotPadding)


@dataclass(frozen=True, eq=False)
class Variables:
    """Every variable of the SOCP (module docstring); the shapes are per slot ``k``."""

    p: cp.Variable = field(metadata=_FREE)  # (H, nl) P_ij
    q: cp.Variable = field(metadata=_FREE)  # (H, nl) Q_ij
    ell: cp.Variable = field(metadata=_FREE)  # (H, nl) ℓ_ij
    v: cp.Variable = field(metadata=_FREE)  # (H, nl) v_j of the bus each branch feeds
    p_gt: cp.Variable = field(metadata=_ZERO_FIXED)  # (H, ng)
    p_ch: cp.Variable = field(metadata=_ZERO_FIXED)  # (H, ns)
    p_dis: cp.Variable = field(metadata=_ZERO_FIXED)  # (H, ns)
    energy: cp.Variable = field(metadata=_HELD)  # (H + 1, ns)
    p_import: cp.Variable = field(metadata=_FREE)  # (H,)
    z_carbon: cp.Variable = field(metadata=_KEPT)  # ()
    soc_lo: cp.Variable = field(metadata=_FREE)  # (H, ns) MWh below the window
    soc_hi: cp.Variable = field(metadata=_FREE)  # (H, ns)

    def by_padding(self) -> dict[str, tuple[SlotPadding, cp.Variable]]:
        """Each variable by name with its :class:`SlotPadding`."""
        return {f.name: (f.metadata["padding"], getattr(self, f.name)) for f in fields(self)}


def define_variables(horizon: int, n_branch: int, n_storage: int, n_turbine: int) -> Variables:
    """The variables of a ``horizon``-slot problem (created in this order)."""
    import cvxpy as cp

    h = horizon
    return Variables(
        **bf.branch_flow_variables(h, n_branch),
        p_gt=cp.Variable((h, n_turbine), name="p_gt"),
        p_ch=cp.Variable((h, n_storage), nonneg=True, name="p_ch"),
        p_dis=cp.Variable((h, n_storage), nonneg=True, name="p_dis"),
        energy=cp.Variable((h + 1, n_storage), name="energy"),
        p_import=cp.Variable(h, name="p_import"),
        z_carbon=cp.Variable(name="z_carbon"),
        soc_lo=cp.Variable((h, n_storage), nonneg=True, name="soc_lo"),
        soc_hi=cp.Variable((h, n_storage), nonneg=True, name="soc_hi"),
    )
