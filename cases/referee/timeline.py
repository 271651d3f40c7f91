"""The day's clock: the decision :class:`Layer` s, one :class:`LayerSpec` per layer and the
:class:`Timeline` a core steps along (with the layer one-hot the front-ends observe)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.referee.errors import TimelineError

__all__ = ["Layer", "LayerSpec", "Timeline", "coerce_layer"]

FloatArray = NDArray[np.float64]
#: A step of the day: its layer's spec and its index within the layer.
Position = tuple["LayerSpec", int]
#: Where an action is applied, as the ``info`` says it: ``(layer value, step within the
#: layer)``, or ``(None, None)`` when the day is over (see :meth:`Timeline.next_decision`).
NextDecision = tuple[str, int] | tuple[None, None]

_HORIZON_TOL: Final[float] = 1e-9


class Layer(StrEnum):
    """Decision layers of a day, in execution order.

    ``day_ahead``: planning layer (commitments, schedules) run before the day;
    ``intraday``: the executed, real-time layer (the only layer of single-layer cases).
    """

    DAY_AHEAD = "day_ahead"
    INTRADAY = "intraday"


_LAYER_ORDER: Final[dict[Layer, int]] = {layer: i for i, layer in enumerate(Layer)}


def coerce_layer(value: object) -> Layer:
    """The :class:`Layer` named by ``value`` (a layer or its string value)."""
    try:
        return Layer(value)
    except ValueError:
        raise TimelineError(
            f"unknown layer {value!r}; valid: {', '.join(layer.value for layer in Layer)}"
        ) from None


@dataclass(frozen=True, slots=True)
class LayerSpec:
    """One layer of the day: ``n_steps`` steps of ``step_hours`` hours each."""

    layer: Layer
    n_steps: int
    step_hours: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "layer", coerce_layer(self.layer))
        if isinstance(self.n_steps, bool) or not isinstance(self.n_steps, int) or self.n_steps < 1:
            raise TimelineError(f"n_steps must be an int >= 1, got {self.n_steps!r}")
        if not (isinstance(self.step_hours, int | float) and math.isfinite(self.step_hours)):
            raise TimelineError(f"step_hours must be a finite number, got {self.step_hours!r}")
        if self.step_hours <= 0:
            raise TimelineError(f"step_hours must be > 0, got {self.step_hours!r}")
        object.__setattr__(self, "step_hours", float(self.step_hours))

    @property
    def horizon_h(self) -> float:
        """Hours covered by the layer: ``n_steps · step_hours``."""
        return self.n_steps * self.step_hours

    def time_h(self, step: int) -> float:
        """Start of ``step`` in hours after midnight: ``step · step_hours``."""
        return step * self.step_hours

    def step_at(self, time_h: float) -> int:
        """Index of the step of this layer that covers ``time_h`` (clamped to the layer):
        ``⌊time_h / step_hours⌋``; maps an intraday time onto its day-ahead hour."""
        k = math.floor(time_h / self.step_hours + _HORIZON_TOL)
        return min(max(k, 0), self.n_steps - 1)


@dataclass(frozen=True, slots=True)
class Timeline:
    """The layers of a day in execution order (``day_ahead`` before ``intraday``).

    Every layer covers the same horizon (the day, e.g. 24 × 1 h and 96 × 0.25 h, or one
    planning step of 24 h). The last layer is the *executed* one: its steps run the physics
    whose trajectories (SOC, tie line, voltages) the harness scores; the steps of earlier
    layers are planning steps whose KPI records hold what the plan commits (e.g. a day-ahead
    energy purchase) and no physical violations.
    """

    layers: tuple[LayerSpec, ...]
    _positions: tuple[Position, ...] = field(init=False, repr=False, compare=False, default=())
    _following: Mapping[Layer, tuple[NextDecision, ...]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        if not layers:
            raise TimelineError("a timeline needs at least one layer")
        if not all(isinstance(spec, LayerSpec) for spec in layers):
            raise TimelineError("timeline layers must be LayerSpec objects")
        order = [_LAYER_ORDER[spec.layer] for spec in layers]
        if order != sorted(set(order)):
            names = [spec.layer.value for spec in layers]
            raise TimelineError(
                f"layers {names} are repeated or out of order; valid order: "
                f"{', '.join(layer.value for layer in Layer)}"
            )
        horizon = layers[0].horizon_h
        for spec in layers[1:]:
            if abs(spec.horizon_h - horizon) > _HORIZON_TOL * max(1.0, horizon):
                raise TimelineError(
                    f"layer {spec.layer.value} covers {spec.horizon_h} h but "
                    f"{layers[0].layer.value} covers {horizon} h; all layers must cover the day"
                )
        object.__setattr__(self, "layers", layers)
        positions = tuple((spec, k) for spec in layers for k in range(spec.n_steps))
        object.__setattr__(self, "_positions", positions)
        after: list[NextDecision] = [(s.layer.value, k) for s, k in positions[1:]]
        after.append((None, None))  # after the day's last step
        following: dict[Layer, tuple[NextDecision, ...]] = {}
        for spec in layers:
            following[spec.layer], after = tuple(after[: spec.n_steps]), after[spec.n_steps :]
        object.__setattr__(self, "_following", following)

    @classmethod
    def single(cls, n_steps: int, step_hours: float) -> Timeline:
        """One executed (``intraday``) layer, e.g. ``Timeline.single(96, 0.25)``."""
        return cls((LayerSpec(Layer.INTRADAY, n_steps, step_hours),))

    @classmethod
    def two_layer(
        cls,
        day_ahead: tuple[int, float] = (24, 1.0),
        intraday: tuple[int, float] = (96, 0.25),
    ) -> Timeline:
        """A ``day_ahead`` layer ``(n_steps, step_hours)`` followed by an ``intraday`` one."""
        return cls(
            (
                LayerSpec(Layer.DAY_AHEAD, *day_ahead),
                LayerSpec(Layer.INTRADAY, *intraday),
            )
        )

    def __iter__(self) -> Iterator[LayerSpec]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def executed(self) -> LayerSpec:
        """The last layer, whose steps run the physics."""
        return self.layers[-1]

    @property
    def total_steps(self) -> int:
        """Environment steps in one day: Σ ``n_steps`` over layers."""
        return len(self._positions)

    def spec(self, layer: Layer | str) -> LayerSpec:
        """The :class:`LayerSpec` of ``layer``."""
        want = coerce_layer(layer)
        for spec in self.layers:
            if spec.layer is want:
                return spec
        raise TimelineError(
            f"layer {want.value!r} is not in this timeline; valid: "
            f"{', '.join(s.layer.value for s in self.layers)}"
        )

    def index(self, layer: Layer | str) -> int:
        """Position of ``layer`` in the timeline."""
        return self.layers.index(self.spec(layer))

    def position(self, t: int) -> Position:
        """``(layer spec, step within the layer)`` of global step ``t`` (0-based; clamped to
        the last step for ``t >= total_steps``)."""
        return self._positions[min(max(t, 0), len(self._positions) - 1)]

    def next_decision(self, layer: Layer, step: int) -> NextDecision:
        """Where the action after step ``step`` of ``layer`` is applied: ``(layer value, step
        within it)`` of the following step (the next layer's first step after a layer's last
        one); ``(None, None)`` after the day's last step."""
        return self._following[layer][step]

    def layer_one_hot(self, layer: Layer) -> NDArray[np.float32]:
        """One-hot of ``layer`` over this timeline's layers (length ``len(self)``)."""
        out = np.zeros(len(self.layers), dtype=np.float32)
        out[self.index(layer)] = 1.0
        return out

    def with_layer_one_hot(self, obs: NDArray[np.float32], t: int) -> NDArray[np.float32]:
        """What a front-end observes at global step ``t``: ``obs ‖`` the :meth:`layer_one_hot`
        of ``t``'s layer on a multi-layer timeline (so that a policy knows which entries of the
        union action box matter), ``obs`` itself on a single-layer one (the step path of
        single-layer cases looks nothing up)."""
        if len(self.layers) == 1:
            return obs
        return np.concatenate([obs, self.layer_one_hot(self.position(t)[0].layer)])

    def with_layer_one_hot_bounds(
        self, low: FloatArray, high: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Bounds of :meth:`with_layer_one_hot`: ``low ‖ 0`` and ``high ‖ 1`` on a multi-layer
        timeline, ``(low, high)`` themselves on a single-layer one."""
        n = len(self.layers)
        if n == 1:
            return low, high
        return np.concatenate([low, np.zeros(n)]), np.concatenate([high, np.ones(n)])
