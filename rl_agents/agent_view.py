"""What a learned agent sees of the referee, and how its output reaches it: the maps between
the referee's physical spaces and the agent's [-1, 1] (``rl_agents/README.md``, "What the agent
sees"). The training env's wrappers and the controller call these very functions, so an agent
is evaluated through the maps it was trained with. Imports neither gymnasium nor torch.

Observation maps (``hyperparams.json`` ``env``):

* ``rescale_obs``: the stateless affine map of the observation ``Box`` onto [-1, 1]
  (:func:`observation_map`);
* ``obs_norm = "train_days"``: instead, ``(o − μ)/σ`` clipped to ±5, with
  μ, σ fitted on train days before training and frozen
  (:mod:`gridbench.rl_agents.observation_norm`).

Action maps (``env.action_map``, :data:`ACTION_MAPS`), [-1, 1] → MW:

* ``rescale``: the static box's midpoint at 0 (:func:`action_map`, gymnasium's
  ``RescaleAction``);
* ``idle_centred``: the idle action at 0 on the static box (:func:`idle_centred_action_map`);
* ``feasible``: 0 at the neutral point of the *step's* feasible box, which the referee
  reports in ``info["next_action_low"/"next_action_high"]`` (SOC window, reachability,
  ramps): every output of the policy is executed as it is, nothing is projected
  (:func:`feasible_action`). The neutral point is the idle action clipped into the box, or,
  for the entries the case's action layout marks ``neutral="middle"`` (ramp-limited
  generators, whose idle output is out of reach once they run), the middle of the box, i.e.
  their last output (``env.ramp_action = "relative"``: the agent moves the unit by up to its
  ramp); with ``env.ramp_action = "target"`` the agent names such a unit's output level
  instead, [-1, 1] affinely onto its static range [p_min, p_max], and the referee's step
  box (the ramp window) clips it (:data:`RAMP_ACTIONS`). With ``env.action_centre =
  "default"`` (:data:`ACTION_CENTRES`) every entry's 0 is instead the case's default operation
  of the step, ``info["next_default_action"]`` clipped into the box, where the case reports
  one (SGLS: in the day-ahead layer the thermal units follow the forecast net load pro rata to
  capacity, the rest idles; intraday, the day-ahead plan is executed, the thermal units
  taking up the forecast's deviation from it). ``"default_balanced"`` keeps that 0 and holds
  the ramp-limited generators' total at the default's, the agent's actions on them moving
  output from one to another (:func:`balanced_units`): the economic dispatch between the
  units without changing the tie-line balance;
* ``penalty_free``: the same on the step's *penalty-free* box,
  ``info["next_penalty_free_low"/"_high"]``: the feasible box narrowed to the reward's soft
  limits (SES-carbon's SOC window 0.2–0.8, penalized at 600 $/(SOC·h) beyond it; the solvers
  see that penalty in their objective and never pay it). Where a case has no soft limits the
  two boxes coincide, and so do the maps.

Observation context (``env.obs_context``): with ``true`` the agent also sees the entries the
referee reports as ``info["next_context"]`` where the case has them (the SGLS cases: the
tie-line flow of the last step, and in the intraday layer the day-ahead plan the step is
settled against; :meth:`~gridbench.cases.referee.DispatchCore.observation_context`),
appended to the observation before it is normalized (:func:`with_context`; zeros after the
day's last step). A case without context is unchanged.

Each centred map is the same equation (:func:`centred_on`), entry by entry:

    u = c + a·(high − c)   for a ≥ 0,        u = c + a·(c − low)   for a < 0,

with ``c`` the neutral point (the idle action clipped into [low, high] for the static maps).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import NDArray

from gridbench.cases.kpi import DEFAULT_ACTION_KEY

if TYPE_CHECKING:
    from gymnasium import spaces

__all__ = [
    "ACTION_CENTRES",
    "ACTION_MAPS",
    "RAMP_ACTIONS",
    "STEP_BOX_KEYS",
    "AgentActionMap",
    "action_map",
    "agent_action_map",
    "balanced_units",
    "cast_inside",
    "centred_on",
    "context_bounds",
    "feasible_action",
    "idle_centred_action_map",
    "neutral_middle",
    "observation_map",
    "unit_bounds",
    "with_context",
    "with_context_space",
]

#: ``env.action_map`` values of the hyperparameter file.
ACTION_MAPS: Final[tuple[str, ...]] = ("rescale", "idle_centred", "feasible", "penalty_free")

#: ``env.ramp_action`` values: how a step-box map treats the ``neutral="middle"`` entries
#: (ramp-limited generators): ``relative`` (0 = the last output, ±1 = the ramp window's ends)
#: or ``target`` (an output level on the static range, clipped into the ramp window).
RAMP_ACTIONS: Final[tuple[str, ...]] = ("relative", "target")

#: ``env.action_centre`` values: what a step-box map puts at the agent's 0, ``idle`` (the idle
#: action; ramp-limited generators as ``env.ramp_action`` says), ``default`` (the case's
#: default operation of the step, ``info["next_default_action"]``, where the case reports one)
#: or ``default_balanced`` (the same 0, and the ramp-limited generators' total output held at
#: the default's: the agent moves output between them, :func:`balanced_units`).
ACTION_CENTRES: Final[tuple[str, ...]] = ("idle", "default", "default_balanced")

#: The maps onto a per-step box of the referee's ``info``, and the keys of that box.
STEP_BOX_KEYS: Final[dict[str, tuple[str, str]]] = {
    "feasible": ("next_action_low", "next_action_high"),
    "penalty_free": ("next_penalty_free_low", "next_penalty_free_high"),
}

#: An action map as the controller calls it: ``(agent's action, step info) → MW``.
AgentActionMap = Callable[[NDArray[Any], "Mapping[str, Any] | None"], NDArray[Any]]


def centred_on(
    action: NDArray[Any], low: NDArray[Any], centre: NDArray[Any], high: NDArray[Any]
) -> NDArray[np.float64]:
    """[-1, 1] → [low, high] with 0 → ``centre`` (module docstring's equation); ``action`` is
    clipped to [-1, 1] first and ``centre`` must lie in [low, high]."""
    a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
    return centre + np.where(a >= 0.0, a * (high - centre), a * (centre - low))


def balanced_units(
    mw: NDArray[Any], centre: NDArray[Any], low: NDArray[Any], high: NDArray[Any],
    units: NDArray[np.bool_],
) -> NDArray[np.float64]:
    """``mw`` with its ``units`` entries moved so that their total is the ``centre``'s, each
    within [low, high], the other entries untouched. With the units' total deviation
    ``D = Σ_u (mw_u − c_u)``, ``D > 0`` is taken from the units in proportion to their room
    down::

        mw_u ← mw_u − D · (mw_u − low_u) / Σ_v (mw_v − low_v),

    and ``D < 0`` given to them in proportion to their room up, ``high_u − mw_u`` (the same
    equation mirrored). No unit leaves its box: ``D ≤ Σ_v (mw_v − low_v)`` because every
    ``c_v ≥ low_v`` (mirrored: ``c_v ≤ high_v``)."""
    out = np.asarray(mw, dtype=np.float64).copy()
    u = np.asarray(units, dtype=bool).reshape(out.shape)
    x, c = out[u], np.asarray(centre, dtype=np.float64).reshape(out.shape)[u]
    lo = np.asarray(low, dtype=np.float64).reshape(out.shape)[u]
    hi = np.asarray(high, dtype=np.float64).reshape(out.shape)[u]
    excess = float(np.sum(x - c))
    room = x - lo if excess > 0.0 else hi - x
    total = float(np.sum(room))
    if excess != 0.0 and total > 0.0:
        out[u] = x - np.sign(excess) * min(abs(excess), total) * room / total
    return out


def neutral_middle(case: Any) -> NDArray[np.bool_] | None:
    """The entries of ``case``'s action layout whose learned 0 is the middle of the step's box
    (``ActionEntry.neutral == "middle"``); ``None`` for a case without a layout."""
    layout = getattr(case, "action_layout", None)
    if layout is None:
        return None
    try:
        return np.asarray(layout().middle_mask(), dtype=bool)
    except (NotImplementedError, AttributeError):
        return None


def with_context(obs: NDArray[Any], info: Mapping[str, Any] | None, size: int) -> NDArray[Any]:
    """``obs`` followed by the ``size`` entries of ``info["next_context"]`` (zeros where the
    info has none, e.g. after the day's last step); ``obs`` itself when ``size`` is 0."""
    if size == 0:
        return obs
    context = None if info is None else info.get("next_context")
    tail = np.zeros(size) if context is None else np.asarray(context, dtype=np.float64)
    if tail.shape != (size,):
        raise ValueError(f"info['next_context'] has shape {tail.shape}, expected ({size},)")
    return np.concatenate([np.asarray(obs, dtype=np.float64).reshape(-1), tail]).astype(
        np.asarray(obs).dtype, copy=False
    )


def context_bounds(env: Any) -> tuple[NDArray[Any], NDArray[Any]] | None:
    """The ``(low, high)`` of the referee's observation context of ``env`` (its dispatch
    core's ``context_box()``; ``None`` where the case has none, or the env has no dispatch
    core, e.g. the Stackelberg leader's view)."""
    core = getattr(env.unwrapped, "core", None)
    box = getattr(core, "context_box", None)
    return None if box is None else box()


def with_context_space(space: spaces.Box, bounds: tuple[NDArray[Any], NDArray[Any]]) -> Any:
    """``space`` extended by the context's ``(low, high)`` (:func:`with_context`'s layout)."""
    from gymnasium import spaces as gspaces

    low = np.concatenate([np.asarray(space.low, dtype=np.float64), bounds[0]])
    high = np.concatenate([np.asarray(space.high, dtype=np.float64), bounds[1]])
    return gspaces.Box(low.astype(space.dtype), high.astype(space.dtype), dtype=space.dtype)


def unit_bounds(space: spaces.Box) -> tuple[NDArray[Any], NDArray[Any]]:
    """[-1, 1] bounds in the space's own dtype (float bounds would make gymnasium warn about
    lowered precision)."""
    return np.full(space.shape, -1, dtype=space.dtype), np.full(space.shape, 1, dtype=space.dtype)


def observation_map(
    space: spaces.Box,
) -> tuple[spaces.Box, Callable[[NDArray[Any]], NDArray[np.float32]]]:
    """The stateless affine map of a finite ``Box`` onto [-1, 1] (degenerate entries, where
    low = high, map to 0) and the mapped space. Training and the controller both use it."""
    from gymnasium import spaces as gspaces

    low = np.asarray(space.low, dtype=np.float64)
    high = np.asarray(space.high, dtype=np.float64)
    if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        raise ValueError("observation bounds must be finite to rescale observations")
    width = high - low
    ok = width > 0
    scale = np.where(ok, 2.0 / np.where(ok, width, 1.0), 1.0)
    offset = np.where(ok, -1.0 - low * scale, -low)
    scale32, offset32 = scale.astype(np.float32), offset.astype(np.float32)
    new_low = np.where(ok, -1.0, 0.0).astype(np.float32)
    new_high = np.where(ok, 1.0, 0.0).astype(np.float32)
    new_space = gspaces.Box(new_low, new_high, dtype=np.float32)

    def forward(obs: NDArray[Any]) -> NDArray[np.float32]:
        return (np.asarray(obs, dtype=np.float32) * scale32 + offset32).astype(np.float32)

    return new_space, forward


def action_map(space: spaces.Box) -> Callable[[NDArray[Any]], NDArray[Any]]:
    """[-1, 1] → physical units: the very function ``RescaleAction(env, -1, 1)`` applies."""
    from gymnasium.wrappers.utils import rescale_box

    lo, hi = unit_bounds(space)
    _, _, backward = rescale_box(space, lo, hi)
    return backward


def idle_centred_action_map(
    space: spaces.Box, idle: NDArray[Any]
) -> Callable[[NDArray[Any]], NDArray[Any]]:
    """[-1, 1] → physical units with the idle action at 0 on the static box: ``a ≥ 0`` moves
    from ``idle`` towards ``high``, ``a < 0`` towards ``low`` (:func:`centred_on`), so that a
    policy whose mean is 0 idles."""
    low = np.asarray(space.low, dtype=np.float64)
    high = np.asarray(space.high, dtype=np.float64)
    centre = np.clip(np.asarray(idle, dtype=np.float64).reshape(low.shape), low, high)

    def backward(action: NDArray[Any]) -> NDArray[Any]:
        return centred_on(action, low, centre, high).astype(space.dtype)

    return backward


def feasible_action(
    action: NDArray[Any],
    info: Mapping[str, Any] | None,
    idle: NDArray[Any],
    middle: NDArray[np.bool_] | None = None,
    box: str = "feasible",
    static: tuple[NDArray[Any], NDArray[Any]] | None = None,
    default: bool = False,
    balanced: bool = False,
) -> NDArray[np.float64]:
    """[-1, 1] → the step's box ``box`` of :data:`STEP_BOX_KEYS` (the feasible box
    ``info["next_action_low"/"_high"]`` by default) with 0 at the idle action clipped into it,
    or at its middle where ``middle`` is set (:func:`centred_on`). With ``static`` (the static
    box's low and high: ``ramp_action = "target"``) the ``middle`` entries are output levels
    instead, ``clip(s_low + (a + 1)/2 · (s_high − s_low), low, high)``. With ``default``
    (``action_centre = "default"``) every entry's 0 is the case's default operation of the
    step, ``info["next_default_action"]`` clipped into the box (``middle`` and ``static`` then
    play no part), where the info carries one; with ``balanced`` as well the ``middle``
    entries' total is then held at the default's (:func:`balanced_units`). A ``ValueError``
    names the missing keys when
    ``info`` (the reset or the previous step's) carries no box, e.g. after the day's last
    step."""
    low_key, high_key = STEP_BOX_KEYS[box]
    low = None if info is None else info.get(low_key)
    high = None if info is None else info.get(high_key)
    if low is None or high is None:
        raise ValueError(
            f"the {box!r} action map needs info[{low_key!r}] and info[{high_key!r}] "
            "of the step about to be played (the referee's reset or previous step info)"
        )
    low = np.asarray(low, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    centre = np.clip(np.asarray(idle, dtype=np.float64).reshape(low.shape), low, high)
    if default:
        value = info.get(DEFAULT_ACTION_KEY)  # type: ignore[union-attr]
        if value is None:
            raise ValueError(
                f"action centre 'default' needs info[{DEFAULT_ACTION_KEY!r}] of the step about "
                "to be played; this case reports none (use the centre 'idle')"
            )
        centre = np.clip(np.asarray(value, dtype=np.float64).reshape(low.shape), low, high)
        out = centred_on(action, low, centre, high)
        if balanced and middle is not None:
            out = balanced_units(out, centre, low, high, middle)
        return out
    if middle is not None and static is None:
        centre = np.where(middle, 0.5 * (low + high), centre)
    out = centred_on(action, low, centre, high)
    if middle is not None and static is not None:
        s_low, s_high = (np.asarray(b, dtype=np.float64).reshape(low.shape) for b in static)
        a = np.clip(np.asarray(action, dtype=np.float64).reshape(low.shape), -1.0, 1.0)
        level = np.clip(s_low + 0.5 * (a + 1.0) * (s_high - s_low), low, high)
        out = np.where(middle, level, out)
    return out


def cast_inside(
    values: NDArray[Any], low: NDArray[Any], high: NDArray[Any], dtype: Any
) -> NDArray[Any]:
    """``values`` (inside [low, high]) cast to ``dtype`` without leaving the box: a bound that
    rounds outside it in ``dtype`` is replaced by its neighbour inside (at 48 MW a ``float32``
    step is 4e-6 MW, beyond the referee's 1e-6 MW projection tolerance)."""
    low = np.asarray(low, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    lo = low.astype(dtype)
    hi = high.astype(dtype)
    lo = np.where(lo.astype(np.float64) < low, np.nextafter(lo, np.inf, dtype=dtype), lo)
    hi = np.where(hi.astype(np.float64) > high, np.nextafter(hi, -np.inf, dtype=dtype), hi)
    return np.minimum(np.maximum(np.asarray(values).astype(dtype), lo), hi)


def agent_action_map(
    name: str,
    space: spaces.Box,
    idle: NDArray[Any],
    middle: NDArray[np.bool_] | None = None,
    ramp: str = "relative",
    centre: str = "idle",
) -> AgentActionMap:
    """The map ``name`` of :data:`ACTION_MAPS` for ``space`` as ``(action, info) → MW``
    (``idle``: the env's idle action; ``middle``: the ramp-limited entries,
    :func:`neutral_middle`, mapped as ``ramp`` of :data:`RAMP_ACTIONS` says; ``centre`` of
    :data:`ACTION_CENTRES`: what the agent's 0 is; only the step-box maps ``feasible`` and
    ``penalty_free`` read ``info``, ``middle``, ``ramp`` and ``centre``, and a case that
    reports no default operation (``DispatchCore.default_setpoints``) keeps the idle centre)."""
    if ramp not in RAMP_ACTIONS:
        raise ValueError(f"ramp action {ramp!r} is not one of {', '.join(RAMP_ACTIONS)}")
    if centre not in ACTION_CENTRES:
        raise ValueError(f"action centre {centre!r} is not one of {', '.join(ACTION_CENTRES)}")
    if name in STEP_BOX_KEYS:
        wants_default = centre in ("default", "default_balanced")
        balanced = centre == "default_balanced"
        idle_centre = np.asarray(idle, dtype=np.float64).copy()
        mid = None if middle is None or not np.any(middle) else np.asarray(middle, dtype=bool)
        dtype = space.dtype
        static = None
        if ramp == "target":
            static = (np.asarray(space.low, np.float64), np.asarray(space.high, np.float64))

        low_key, high_key = STEP_BOX_KEYS[name]

        def on_step_box(action: NDArray[Any], info: Mapping[str, Any] | None) -> NDArray[Any]:
            default = wants_default and (info or {}).get(DEFAULT_ACTION_KEY) is not None
            mw = feasible_action(action, info, idle_centre, mid, name, static, default,
                                 balanced)
            return cast_inside(mw, info[low_key], info[high_key], dtype)  # type: ignore[index]

        return on_step_box
    if name not in ACTION_MAPS:
        raise ValueError(f"action map {name!r} is not one of {', '.join(ACTION_MAPS)}")
    static = idle_centred_action_map(space, idle) if name == "idle_centred" else action_map(space)

    def on_static_box(action: NDArray[Any], info: Mapping[str, Any] | None = None) -> NDArray[Any]:
        return static(action)

    return on_static_box
