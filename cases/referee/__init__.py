"""The referee: machinery shared by every case environment (no case physics lives here).

A case writes one :class:`DispatchCore` — its day's data, its device state and its physics —
and gets two front-ends over that same core, hence the same physics and the same KPIs:

* :class:`RefereeEnv`, a ``gymnasium.Env`` (one controller for all devices);
* :class:`ParallelRefereeEnv`, a ``pettingzoo.ParallelEnv`` (one controller per agent, each
  owning a slice of the core's setpoint vector; optionally in sequential stages for
  leader–follower / Stackelberg games).

Both run the core along a :class:`Timeline` of one or two :class:`Layer` s: single-layer cases
have only the ``intraday`` (executed, real-time) layer; two-layer cases first step through a
``day_ahead`` planning layer (e.g. 24 hourly steps, or one step planning the whole day), then
through the ``intraday`` layer at a finer step (e.g. 96 × 15 min) in which the core uses the
day-ahead plan as ``tie_line_ref_mw`` / SOC reference.

Action convention (both front-ends)
-----------------------------------
The action is one flat ``Box`` of setpoints in **physical units** (MW, Mvar; ``p > 0`` injects
into the grid), ``float32``. A two-layer core lays out the setpoints of *all* layers in one
vector and declares per layer which entries are *active* (:meth:`DispatchCore.active_mask`);
the action space is the union box (per entry, the bounds of the layers where it is active).
Inactive entries of the current layer are **ignored**: not projected, not reported, passed to
the physics at their idle value (0 wherever 0 is feasible, see
:meth:`DispatchCore.idle_action`). A ``Dict`` action space keyed by layer would be more
explicit but Stable-Baselines3 trains on ``Box`` actions only (and needs one fixed shape),
hence the union box; the current layer is part of the observation (a one-hot appended by the
front-end when the timeline has more than one layer) so that a policy knows which entries
matter. Physical units mean
Gymnasium's checker recommends normalizing: RL methods wrap the env with
``gymnasium.wrappers.RescaleAction``; solvers and the ``schedule`` output keep MW.

Every action is projected (:mod:`gridbench.cases.projection`): first onto the static box of the
layer intersected with the core's state-dependent :meth:`DispatchCore.step_bounds` (NaN → the
idle setpoint, ±inf → the bound), then through the core's coupled-limit hook
:meth:`DispatchCore.project_coupled`; the physics may clamp further and say so. The report in
``info["projection"]`` is measured between what the agent sent and what the physics executed.

Step ``info`` = the KPI schema (:mod:`gridbench.cases.kpi`) + ``projection``, ``layer``,
``step`` (index within the layer), ``time_h`` (start of the step, hours after midnight),
``step_hours``, ``day`` (ISO date), ``next_layer`` and ``next_step`` (where the *next* action
will be applied: the step after this one, the next layer's first step after a layer's last;
both ``None`` after the day's last step), ``next_action_low``/``next_action_high`` (that
step's feasible box: the static box of its layer ∩ the state-dependent step bounds, so that an
agent or a controller can map its output onto what will be executed unchanged; ``None`` after
the day's last step too), ``next_penalty_free_low``/``_high`` (that box narrowed to the
reward's soft limits, e.g. SES-carbon's SOC window; the same where a case has none;
``DispatchCore.penalty_free_step_bounds``), where the case has them ``next_context``
(``DispatchCore.observation_context``) and ``next_default_action`` (the case's default
operation of that step, ``DispatchCore.default_setpoints``: on SGLS the thermal units
following the forecast net load, the plan executed intraday), and ``reward_terms``. The
reset ``info`` holds ``layer``, ``step``, ``time_h``, ``step_hours``, ``day``,
``next_layer`` and ``next_step`` (the day's first step, as ``layer`` and ``step``),
``next_action_low``/``next_action_high``, ``next_penalty_free_low``/``_high``, ``soc``
(initial SOC per storage, from :meth:`DispatchCore.state_of_charge`) and ``idle_action``
(the setpoints that leave every device idle, i.e. 0 projected onto the action box; the
``idle`` baseline plays it).

Episodes are one day. The last step of the last layer sets ``terminated=True`` (the day is the
whole task; cores put the time of day in the observation so the end is predictable);
``truncated`` is always ``False``.

Modules: :mod:`~gridbench.cases.referee.errors` (the error family),
:mod:`~gridbench.cases.referee.timeline` (layers and the day's clock),
:mod:`~gridbench.cases.referee.episode` (an episode's day and generator),
:mod:`~gridbench.cases.referee.boxes` (validated bounds, ``float32`` spaces),
:mod:`~gridbench.cases.referee.records` (step and agent records),
:mod:`~gridbench.cases.referee.core` (:class:`DispatchCore`),
:mod:`~gridbench.cases.referee.env` (:class:`RefereeEnv`) and
:mod:`~gridbench.cases.referee.parallel` (:class:`ParallelRefereeEnv`). Projection and KPIs
stay in :mod:`gridbench.cases.projection` and :mod:`gridbench.cases.kpi`.
"""

from gridbench.cases.referee.core import DispatchCore
from gridbench.cases.referee.env import RefereeEnv
from gridbench.cases.referee.episode import DaySampler, coerce_day
from gridbench.cases.referee.errors import (
    DayError,
    RefereeError,
    RefereeStateError,
    RoleError,
    TimelineError,
)
from gridbench.cases.referee.parallel import ParallelRefereeEnv
from gridbench.cases.referee.records import AgentRole, CoreStep, StepOutcome
from gridbench.cases.referee.timeline import Layer, LayerSpec, Timeline

__all__ = [
    "AgentRole",
    "CoreStep",
    "DayError",
    "DaySampler",
    "DispatchCore",
    "Layer",
    "LayerSpec",
    "ParallelRefereeEnv",
    "RefereeEnv",
    "RefereeError",
    "RefereeStateError",
    "RoleError",
    "StepOutcome",
    "Timeline",
    "TimelineError",
    "coerce_day",
]
