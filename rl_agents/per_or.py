"""``ddpg-per-or``: the SES-carbon paper's DDPG with prioritized experience replay (PER) and
orthogonal regularization (OR) (Zhong et al., Processes 12 (2024) 1791, Sec. 4, Table 2).

Built on Stable-Baselines3 through its extension points, not a fork:

* :class:`PrioritizedReplayBuffer` (a ``ReplayBuffer`` subclass): proportional priorities
  ``p_i = |δ_i| + ε``, sampling probability ``P(i) = p_i^α / Σ_k p_k^α`` (eq 27; the paper
  writes the priority as ``(δ_i + ε)^α``, the same thing), stratified sampling from a
  :class:`SumTree`, importance-sampling weights ``w_i = (N·P(i))^−β / max_k w_k`` (the max over
  the stored transitions, i.e. ``(P(i)/P_min)^−β``), ``β`` annealed linearly from ``β₀`` to 1
  over the run; new transitions get the largest priority seen so far (Schaul et al. 2016).
* :class:`PerOrDDPG` (an SB3 ``DDPG`` subclass) overriding ``train()``: IS-weighted critic
  loss ``mean_i w_i (Q(s_i, a_i) − y_i)²``, priorities updated with the step's new TD errors
  ``|Q(s_i, a_i) − y_i|``, and the OR term of eq 28, ``λ/2 Σ_layers ‖WᵀW − I‖²_F`` over the
  ``nn.Linear`` weight matrices of the actor (added to the actor loss) and of the critic (added
  to the critic loss); ``or_networks`` picks which.
* :class:`Table2Policy` (a ``TD3Policy`` subclass): Table 2's networks, actor
  ``Linear → LayerNorm → ReLU → Linear → ReLU → Linear → tanh`` and critic
  ``Linear → LayerNorm → ReLU → Linear → ReLU → Linear`` on ``[s, a]``, 256 hidden,
  orthogonal initialization (gain √2 on hidden layers, 0.01 on the actor's output, 1 on the
  critic's).

The paper gives no batch size, α, β, ε or λ: ``hyperparams.json`` documents our choices.

Import cost: this module is torch-free (method listing must not import torch). The three SB3
classes above and :func:`orthogonal_regularization` live in ``_per_or_sb3`` and are resolved
lazily as attributes of this module (``from gridbench.rl_agents.per_or import
PrioritizedReplayBuffer`` works and imports SB3 then). The priority arithmetic
(:class:`SumTree`, :func:`sampling_probabilities`, :func:`importance_weights`) is plain numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, ClassVar, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gridbench.cases.registry import register_method
from gridbench.rl_agents.sb3_methods import SB3Method

if TYPE_CHECKING:  # resolved lazily at run time by __getattr__ below
    from gridbench.rl_agents._per_or_sb3 import (
        PerOrDDPG,
        PrioritizedReplayBuffer,
        PrioritizedReplayBufferSamples,
        Table2Policy,
        orthogonal_regularization,
    )

__all__ = [
    "DdpgPerOr",
    "PerOrDDPG",
    "PrioritizedReplayBuffer",
    "PrioritizedReplayBufferSamples",
    "SumTree",
    "Table2Policy",
    "importance_weights",
    "orthogonal_regularization",
    "sampling_probabilities",
]

_LAZY: Final[frozenset[str]] = frozenset(
    {
        "PerOrDDPG",
        "PrioritizedReplayBuffer",
        "PrioritizedReplayBufferSamples",
        "Table2Policy",
        "orthogonal_regularization",
    }
)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module("gridbench.rl_agents._per_or_sb3")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)


# ---------------------------------------------------------------------------- priority math
def sampling_probabilities(priorities: ArrayLike, alpha: float) -> NDArray[np.float64]:
    """``P(i) = p_i^α / Σ_k p_k^α`` (eq 27) for priorities ``p_i > 0``."""
    p = np.asarray(priorities, dtype=np.float64)
    if p.size == 0 or np.any(~np.isfinite(p)) or np.any(p <= 0):
        raise ValueError("priorities must be a non-empty array of finite values > 0")
    pa = p**alpha
    return pa / pa.sum()


def importance_weights(
    probabilities: ArrayLike, n: int, beta: float, p_min: float
) -> NDArray[np.float64]:
    """``w_i = (N·P(i))^−β / max_k w_k`` where the max is over the ``N`` stored transitions,
    attained at the smallest probability ``p_min``: ``w_i = (P(i) / p_min)^−β`` ∈ (0, 1]."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta must lie in [0, 1], got {beta}")
    probs = np.asarray(probabilities, dtype=np.float64)
    if not p_min > 0:
        raise ValueError(f"p_min must be > 0, got {p_min}")
    return ((n * probs) ** -beta) / ((n * p_min) ** -beta)


class SumTree:
    """A binary sum tree over ``capacity`` non-negative leaf values, vectorized with numpy:
    :meth:`update` and :meth:`find` cost O(batch · log capacity) (measured for capacity 1e5:
    see rl_agents/README.md). Leaf ``i`` sits at node ``size + i`` (``size`` a power of 2);
    every parent is recomputed from its children (no drift from incremental updates)."""

    def __init__(self, capacity: int) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int | np.integer):
            raise ValueError(f"capacity must be an int >= 1, got {capacity!r}")
        if capacity < 1:
            raise ValueError(f"capacity must be an int >= 1, got {capacity!r}")
        self.capacity = int(capacity)
        self._size = 1 << (self.capacity - 1).bit_length()
        self._depth = self._size.bit_length() - 1
        self._tree = np.zeros(2 * self._size, dtype=np.float64)

    @property
    def total(self) -> float:
        """Σ of the leaves."""
        return float(self._tree[1])

    @property
    def values(self) -> NDArray[np.float64]:
        """The leaf values (a read-only view)."""
        view = self._tree[self._size : self._size + self.capacity]
        view.flags.writeable = False
        return view

    def min(self, n: int | None = None) -> float:
        """Smallest of the first ``n`` leaves (all by default)."""
        n = self.capacity if n is None else n
        return float(self._tree[self._size : self._size + n].min())

    def update(self, indices: ArrayLike, values: ArrayLike) -> None:
        """Set leaves ``indices`` to ``values`` (finite, >= 0); a repeated index keeps its last
        value."""
        idx = np.asarray(indices, dtype=np.intp).reshape(-1)
        val = np.broadcast_to(np.asarray(values, dtype=np.float64).reshape(-1), idx.shape)
        if idx.size == 0:
            return
        if idx.min() < 0 or idx.max() >= self.capacity:
            raise IndexError(f"leaf indices must lie in 0..{self.capacity - 1}")
        if not np.all(np.isfinite(val)) or np.any(val < 0):
            raise ValueError("sum-tree values must be finite and >= 0")
        tree = self._tree
        if idx.size == 1:  # one transition per env step: a scalar walk is ~10x cheaper
            pos = int(idx[0]) + self._size
            tree[pos] = float(val[0])
            pos >>= 1
            while pos >= 1:
                tree[pos] = tree[2 * pos] + tree[2 * pos + 1]
                pos >>= 1
            return
        pos = idx + self._size
        tree[pos] = val
        for _ in range(self._depth):
            # duplicates write the same sum twice: harmless, cheaper than np.unique
            pos >>= 1
            tree[pos] = tree[2 * pos] + tree[2 * pos + 1]

    def find(self, prefix: ArrayLike) -> NDArray[np.intp]:
        """For each ``u`` in ``prefix`` (in [0, total)), the leaf ``i`` with
        ``Σ_{k<i} v_k <= u < Σ_{k<=i} v_k``."""
        u = np.asarray(prefix, dtype=np.float64).reshape(-1).copy()
        pos = np.ones(u.shape, dtype=np.intp)
        tree = self._tree
        for _ in range(self._depth):
            left = 2 * pos
            left_sum = tree[left]
            go_right = u >= left_sum
            u -= np.where(go_right, left_sum, 0.0)
            pos = left + go_right
        return pos - self._size

    def sample(
        self, batch_size: int, uniform: ArrayLike, n_valid: int | None = None
    ) -> NDArray[np.intp]:
        """Stratified proportional sampling: the ``j``-th draw falls in the ``j``-th of
        ``batch_size`` equal slices of [0, total), at ``uniform[j]`` ∈ [0, 1) within it; each
        leaf is drawn with expected frequency ``v_i / total``. Leaves ``>= n_valid`` (empty
        slots, value 0) are never returned."""
        total = self.total
        if not total > 0:
            raise ValueError("cannot sample from a sum tree whose leaves are all 0")
        draws = np.asarray(uniform, dtype=np.float64).reshape(-1)
        if draws.size != batch_size:
            raise ValueError(f"need {batch_size} uniform draws, got {draws.size}")
        u = (np.arange(batch_size) + draws) * (total / batch_size)
        u = np.minimum(u, np.nextafter(total, 0.0))
        leaves = self.find(u)
        n = self.capacity if n_valid is None else n_valid
        return np.minimum(leaves, n - 1)


# ---------------------------------------------------------------------------- the method
@register_method
class DdpgPerOr(SB3Method):
    """DDPG + prioritized experience replay + orthogonal regularization, Table 2 networks
    (SES-carbon paper); hyperparameters under ``ddpg-per-or`` in ``hyperparams.json``."""

    name: ClassVar[str] = "ddpg-per-or"
