"""The DSO's network rows in the bilevel MILP (spec §3, "Network"): LinDistFlow on feeder38
with squared voltages, the voltage band and the branch losses by tangent cuts.

Per hour ``t``, with ``S`` the subtree matrix (branch ``b`` carries bus ``k`` when ``S[b, k] =
1``) and ``p_t`` the buses' net load (data plus the followers' decisions, :func:`injections`)::

    P_bt = Σ_k S[b, k]·p_kt + Σ_{b' at or below b} loss_b't        (MW, sending end)
    Q_bt = Σ_k S[b, k]·q_kt                                           (reactive load, data)
    v_jt = v_1 − 2 Σ_{b on the path to j} (r_b·P_bt + x_b·Q_bt)/V²    (pu², V = base kV)
    (v_min + m)² ≤ v_jt ≤ (v_max − m)²                                (m: room for the AC referee)
    loss_bt ≥ r_b·(2a·P_bt − a² + Q_bt²)/(V²·v_1)  for ``loss_tangents`` points a

With ``line_ratings`` (the social optimum's model; the bilevel MILP has none, and its AC
replays overload no line on the 73 test days) every branch's active flow is also bounded by
what its rating leaves beside the reactive flow, with :data:`LINE_MARGIN` of room for the AC
referee::

    |P_bt| ≤ √max((LINE_MARGIN·S_b)² − Q_bt², 0)

The flows, losses and voltages are the leader's own variables; the losses are priced at ``π^up``
(``Pup = Σ_k p_k + Σ_b loss_b``):
the leader pushes them down onto the highest tangent, so the cut is tight at the points and an
outer approximation between them. The points span each branch's flow range from the data and
the followers' bounds (losses left out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from gridbench.cases.stackelberg.bilevel import LeaderRows
from gridbench.cases.stackelberg.config import CI_BUSES, RESIDENTIAL_BUSES
from gridbench.cases.stackelberg.follower import FollowerQP

if TYPE_CHECKING:
    from gridbench.cases.stackelberg.config import StackelbergConfig
    from gridbench.cases.stackelberg.players import GameDay

__all__ = ["DER_BUS", "LINE_MARGIN", "NetworkRows", "injections", "network_rows"]

FloatArray = NDArray[np.float64]
T: Final[int] = 24
#: The share of a branch's rating the social optimum's model may use (the AC flow carries the
#: losses and the voltage-dependent reactive power the lossless ``Q`` leaves out).
LINE_MARGIN: Final[float] = 0.98
#: Paper bus numbers of the DER nodes (spec §1): PV and MGT1, wind and MGT2, the two
#: batteries, the EV station.
DER_BUS: Final[dict[str, int]] = {"pv": 34, "wind": 35, "battery1": 36, "battery2": 37,
                                  "ev": 38}


def _col_blocks(qp: FollowerQP) -> list[str]:
    return [v.split("[")[0] for v in qp.variables]


def injections(d: GameDay, followers: dict[str, FollowerQP],
               ) -> tuple[FloatArray, dict[str, sp.csr_matrix]]:
    """The buses' net load per hour: ``(data (24, n_bus), {follower: M_f (24·n_bus × n_f)})``
    with row ``t·n_bus + k`` for bus index ``k`` (0 = substation). Data: every bus load
    (the flexible share included) minus PV at 34 and wind at 35. Decisions: turbine ``i`` at
    ``DER_BUS`` 34 + i (injects); LA curtailment and shift over the C&I buses pro rata to
    their load; battery charge/discharge split 50/50 over 36 and 37; EV charging at 38;
    flexible-load shifts over the residential buses pro rata."""
    n_bus = d.load_p_mw.shape[1]
    data = d.load_p_mw.copy()
    data[:, DER_BUS["pv"] - 1] -= d.pv_mw
    data[:, DER_BUS["wind"] - 1] -= d.wind_mw

    def shares(buses: range, t: int) -> tuple[list[int], FloatArray]:
        idx = [b - 1 for b in buses]
        w = d.load_p_mw[t, idx]
        return idx, (w / w.sum() if w.sum() > 0 else np.full(len(idx), 1.0 / len(idx)))

    def placed(name: str, block: str, t: int) -> tuple[list[int], FloatArray]:
        """Bus indices and coefficients of one decision at hour ``t`` (empty: no power)."""
        if name == "ea":
            return [DER_BUS["pv"] - 1 + int(block[1:]) - 1], np.array([-1.0])
        if block in ("c", "s"):
            idx, w = shares(CI_BUSES, t)
            return idx, (-w if block == "c" else w)
        if block in ("pc", "pd"):
            return ([DER_BUS["battery1"] - 1, DER_BUS["battery2"] - 1],
                    np.full(2, 0.5 if block == "pc" else -0.5))
        if block == "pev":
            return [DER_BUS["ev"] - 1], np.array([1.0])
        if block == "f":
            return shares(RESIDENTIAL_BUSES, t)
        return [], np.zeros(0)

    out = {}
    for name, qp in followers.items():
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for col, block in enumerate(_col_blocks(qp)):
            t = col % T
            idx, coeff = placed(name, block, t)
            rows.extend(t * n_bus + b for b in idx)
            cols.extend([col] * len(idx))
            vals.extend(coeff.tolist())
        out[name] = sp.csr_matrix((vals, (rows, cols)), shape=(T * n_bus, qp.n))
    return data, out


@dataclass(frozen=True)
class NetworkRows:
    """The leader's network block: its rows and its own variables per hour ``t`` (columns
    ``t·(2·n_branch + n_bus − 1) + …``: the flows ``P_bt``, the losses ``loss_bt``, the squared
    voltages ``v_jt`` of the buses but the substation), their bounds (the MILP's voltage band
    on ``v``, ``loss ≥ 0``) and objective coefficients (``−π^up_t`` on the losses)."""

    rows: LeaderRows
    own_lo: FloatArray
    own_hi: FloatArray
    objective_own: FloatArray
    n_branch: int
    n_per_hour: int

    def own_slice(self, what: str, t: int) -> slice:
        """Columns of ``flow``, ``loss`` or ``v`` at hour ``t`` (``n_branch`` entries each:
        the feeder is radial, so the buses but the substation are as many)."""
        start = _own_column(t, what, 0, self.n_branch, self.n_per_hour)
        return slice(start, start + self.n_branch)


def _own_column(t: int, what: str, k: int, n_branch: int, per_hour: int) -> int:
    """Column of entry ``k`` of ``flow``, ``loss`` or ``v`` at hour ``t``."""
    return t * per_hour + {"flow": 0, "loss": n_branch, "v": 2 * n_branch}[what] + k


def network_rows(cfg: StackelbergConfig, d: GameDay, followers: dict[str, FollowerQP], *,
                 line_ratings: FloatArray | None = None) -> NetworkRows:
    """The rows of the module docstring for every hour of ``d``, in the sparse form (one
    balance row per branch and hour, one voltage-drop row, ``loss_tangents`` cuts), and with
    ``line_ratings`` (MVA per branch) the flow bounds of the ratings:

    * balance: ``P_bt − Σ_{children c of j} P_ct − loss_bt − (M_f x_f)_jt = p^data_jt``
      (``j`` the bus branch ``b`` feeds);
    * voltage drop: ``v_jt − v_it + 2 r_b P_bt/V² = −2 x_b Q_bt/V²`` (``v_1`` a constant);
    * loss cuts: ``2a·r_b/(V² v_1)·P_bt − loss_bt ≤ r_b (a² − Q_bt²)/(V² v_1)``.
    """
    from gridbench.cases.grid import load_grid
    from gridbench.cases.grid.branch_flow import subtree_matrix

    net = cfg.network
    feeder = load_grid("feeder38")
    s = subtree_matrix(feeder)
    n_bus, n_br = feeder.n_bus, feeder.n_branch
    v2 = feeder.base_kv ** 2
    v1 = net.v_slack_pu ** 2
    lo_v = (net.v_min_pu + net.milp_margin_pu) ** 2
    hi_v = (net.v_max_pu - net.milp_margin_pu) ** 2
    r, x = feeder.r_ohm, feeder.x_ohm
    to_bus, from_bus = feeder.to_bus, feeder.from_bus
    branch_of = np.full(n_bus, -1)
    branch_of[to_bus] = np.arange(n_br)
    data, m = injections(d, followers)
    q_flow = d.load_q_mvar @ s.T  # (T, branch): reactive flows, lossless
    # flow ranges for the tangent points: data ± the followers' bounds, losses left out
    lo_flow, hi_flow = data @ s.T, data @ s.T
    for name, mat in m.items():
        qp = followers[name]
        for t in range(T):
            mt = s @ mat[t * n_bus:(t + 1) * n_bus].toarray()
            lo_flow[t] += np.minimum(mt * qp.lb, mt * qp.ub).sum(axis=1)
            hi_flow[t] += np.maximum(mt * qp.lb, mt * qp.ub).sum(axis=1)
    per_hour = 2 * n_br + (n_bus - 1)
    n_own = T * per_hour
    n_tan = net.loss_tangents
    own_r: list[int] = []
    own_c: list[int] = []
    own_v: list[float] = []
    x_blocks: dict[str, list[sp.csr_matrix]] = {name: [] for name in m}
    lo_rows: list[float] = []
    hi_rows: list[float] = []
    row = 0

    def own(t: int, what: str, k: int) -> int:
        return _own_column(t, what, k, n_br, per_hour)

    def entry(col: int, val: float) -> None:
        own_r.append(row)
        own_c.append(col)
        own_v.append(val)

    for t in range(T):
        for name, mat in m.items():  # the decisions' net load at the fed bus of each branch
            x_blocks[name].append(-mat[t * n_bus + to_bus])
            x_blocks[name].append(sp.csr_matrix((n_br * (1 + n_tan), followers[name].n)))
        for b in range(n_br):  # balance
            j = to_bus[b]
            entry(own(t, "flow", b), 1.0)
            for c in np.flatnonzero(from_bus == j):
                entry(own(t, "flow", int(c)), -1.0)
            entry(own(t, "loss", b), -1.0)
            lo_rows.append(data[t, j])
            hi_rows.append(data[t, j])
            row += 1
        for b in range(n_br):  # voltage drop
            i, j = from_bus[b], to_bus[b]
            entry(own(t, "v", j - 1), 1.0)
            rhs = -2 * x[b] * q_flow[t, b] / v2
            if i == 0:
                rhs += v1
            else:
                entry(own(t, "v", i - 1), -1.0)
            entry(own(t, "flow", b), 2 * r[b] / v2)
            lo_rows.append(rhs)
            hi_rows.append(rhs)
            row += 1
        for b in range(n_br):  # loss cuts
            scale = r[b] / (v2 * v1)
            for a in np.linspace(lo_flow[t, b], hi_flow[t, b], n_tan):
                entry(own(t, "flow", b), 2 * a * scale)
                entry(own(t, "loss", b), -1.0)
                lo_rows.append(-np.inf)
                hi_rows.append(scale * (a ** 2 - q_flow[t, b] ** 2))
                row += 1
    n_rows = row
    own_lo = np.tile(np.concatenate([np.full(n_br, -np.inf), np.zeros(n_br),
                                     np.full(n_bus - 1, lo_v)]), T)
    own_hi = np.tile(np.concatenate([np.full(2 * n_br, np.inf), np.full(n_bus - 1, hi_v)]), T)
    if line_ratings is not None:
        rating = np.asarray(line_ratings, dtype=float)
        if rating.shape != (n_br,):
            raise ValueError(f"line_ratings must hold {n_br} ratings, got shape {rating.shape}")
        p_max = np.sqrt(np.maximum((LINE_MARGIN * rating) ** 2 - q_flow ** 2, 0.0))  # (T, br)
        for t in range(T):
            flows = slice(own(t, "flow", 0), own(t, "flow", 0) + n_br)
            own_lo[flows], own_hi[flows] = -p_max[t], p_max[t]
    objective = np.zeros(n_own)
    for t in range(T):
        objective[own(t, "loss", 0):own(t, "loss", 0) + n_br] = -d.upstream[t]
    rows = LeaderRows(
        lo=np.array(lo_rows),
        hi=np.array(hi_rows),
        prices=sp.csr_matrix((n_rows, 96)),
        own=sp.csr_matrix((own_v, (own_r, own_c)), shape=(n_rows, n_own)),
        followers={name: sp.vstack(blocks, format="csr") for name, blocks in x_blocks.items()},
    )
    return NetworkRows(rows, own_lo, own_hi, objective, n_br, per_hour)
