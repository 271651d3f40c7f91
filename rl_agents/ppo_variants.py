"""``ppo-kl`` and ``ppo-clip-kl``: the SGLS paper's PPO variants (Li et al., DGAEJ 41 (2026),
the PPO sections around eqs 27-30 and Fig. 15), with the paper's CNN + FC network (its Table 1)
as a selectable feature extractor.

* ``ppo`` (:mod:`~gridbench.rl_agents.sb3_methods`) is SB3's PPO-clip: loss
  ``−Ê[min(r·A, clip(r, 1−ε, 1+ε)·A)]`` (SGLS eq 29; Schulman et al. 2017 eq 7).
* ``ppo-kl``: no clipping, the adaptive KL penalty of Schulman et al. (2017, sec. 4, eq 8):
  ``L = Ê[r·A − β·KL[π_θold(·|s), π_θ(·|s)]]``; after each policy update ``d = Ê[KL]`` and
  ``β ← β/2`` if ``d < d_targ/1.5``, ``β ← 2β`` if ``d > 1.5·d_targ`` (:func:`adapt_kl_beta`).
* ``ppo-clip-kl``: the clipped surrogate plus the same adaptive penalty.
* ``ppo-kl-fair``, ``ppo-clip-kl-fair``: the same two objectives under the fair-RL protocol
  of ``ppo`` (``rl_agents/README.md``: the scored cost as reward, the feasible action map,
  train-day observation statistics, the idle baseline, γ and σ₀ of ``ppo``, the PPO family's
  tuned learning rate and γ). The paper's variants above keep the paper's set-up, so the
  leaderboard shows each objective both ways.

The paper names the variants but gives neither ``d_targ`` nor the initial β: we use Schulman
et al.'s best setting (``d_targ = 0.01``, ``β₀ = 1``); ``hyperparams.json`` documents it. The
KL is computed in closed form (diagonal Gaussians) against a frozen copy of the rollout policy.

Feature extractor (``policy_kwargs["extractor"]`` in ``hyperparams.json``, for ``ppo`` too):
``"mlp"`` is SB3's flatten extractor (the dense layers of ``net_arch`` do all the work);
``"cnn"`` is :class:`CnnFcExtractor`, Table 1's six convolutions (32, 64, 64, 128, 128, 256
filters, kernel 3, ReLU), followed by the dense layers of ``net_arch`` (Table 1: 256, 128).

Which cases: the SGLS cases (ids starting with ``sgls-``) only: these are that paper's methods,
and a full ``make bench`` would otherwise train two more agents per seed on every case.

Import cost: this module is torch-free. :class:`AdaptiveKLPPO`, :class:`CnnFcExtractor`,
:func:`surrogate_loss` and :func:`policy_kl` live in ``_ppo_kl_sb3`` and are resolved lazily as
attributes of this module.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final

from gridbench.cases.contracts import Case
from gridbench.cases.registry import register_method
from gridbench.rl_agents.sb3_methods import SB3Method

if TYPE_CHECKING:  # resolved lazily at run time by __getattr__ below
    from gridbench.rl_agents._ppo_kl_sb3 import (
        AdaptiveKLPPO,
        CnnFcExtractor,
        policy_kl,
        surrogate_loss,
    )

__all__ = [
    "SGLS_PREFIXES",
    "TABLE1_CHANNELS",
    "TABLE1_KERNEL",
    "TABLE1_STRIDES",
    "AdaptiveKLPPO",
    "CnnFcExtractor",
    "PpoClipKl",
    "PpoClipKlFair",
    "PpoKl",
    "PpoKlFair",
    "adapt_kl_beta",
    "conv_output_length",
    "policy_kl",
    "surrogate_loss",
]

#: Case ids the variants support (the SGLS paper's cases).
SGLS_PREFIXES: Final[tuple[str, ...]] = ("sgls-",)
#: Table 1: filters of the six convolutional layers.
TABLE1_CHANNELS: Final[tuple[int, ...]] = (32, 64, 64, 128, 128, 256)
#: Table 1's "3 × 3" kernel, used in 1-D over the observation vector (see CnnFcExtractor).
TABLE1_KERNEL: Final[int] = 3
#: Our choice (Table 1 gives none): stride 2 where the filters widen (layers 2, 4, 6).
TABLE1_STRIDES: Final[tuple[int, ...]] = (1, 2, 1, 2, 1, 2)

_LAZY: Final[frozenset[str]] = frozenset(
    {"AdaptiveKLPPO", "CnnFcExtractor", "policy_kl", "surrogate_loss"}
)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module("gridbench.rl_agents._ppo_kl_sb3")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)


# ---------------------------------------------------------------------------- pure rules
def adapt_kl_beta(
    beta: float,
    kl: float,
    target: float,
    tolerance: float = 1.5,
    factor: float = 2.0,
) -> float:
    """The adaptive KL coefficient of Schulman et al. (2017, sec. 4): after a policy update
    with measured ``d = Ê[KL[π_old, π_θ]]`` (``kl``), return ``β/factor`` if
    ``d < target/tolerance``, ``β·factor`` if ``d > target·tolerance``, else ``β``
    (the paper's 1.5 and 2)."""
    for name, value in (("beta", beta), ("target", target)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"KL {name} must be a finite number > 0, got {value!r}")
    if not (math.isfinite(kl) and kl >= 0):
        raise ValueError(f"measured KL (kl) must be a finite number >= 0, got {kl!r}")
    if not (math.isfinite(tolerance) and tolerance >= 1):
        raise ValueError(f"KL tolerance must be a finite number >= 1, got {tolerance!r}")
    if not (math.isfinite(factor) and factor > 1):
        raise ValueError(f"KL factor must be a finite number > 1, got {factor!r}")
    if kl < target / tolerance:
        return beta / factor
    if kl > target * tolerance:
        return beta * factor
    return beta


def conv_output_length(n: int, kernel_size: int, strides: Sequence[int]) -> int:
    """Length after the 1-D convolutions of :class:`CnnFcExtractor` (padding ``k // 2``):
    each layer maps ``L`` to ``⌊(L + 2·(k//2) − k) / s⌋ + 1``; for the odd Table 1 kernel
    that is ``⌈L / s⌉``."""
    if n < 1:
        raise ValueError(f"observation length must be >= 1, got {n}")
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be an odd int >= 1, got {kernel_size}")
    if not strides or any(int(s) < 1 for s in strides):
        raise ValueError(f"strides must be a non-empty list of ints >= 1, got {list(strides)}")
    length = n
    pad = kernel_size // 2
    for s in strides:
        length = (length + 2 * pad - kernel_size) // int(s) + 1
    return length


# ---------------------------------------------------------------------------- the methods
class _SglsPpo(SB3Method):
    """Base of the SGLS paper's PPO variants: supports the ``sgls-`` cases only."""

    case_prefixes: ClassVar[tuple[str, ...]] = SGLS_PREFIXES

    def supports(self, case: Case) -> bool:
        """The SGLS cases (id starting with ``sgls-``) that satisfy the generic SB3 check."""
        if not str(getattr(case, "id", "")).startswith(self.case_prefixes):
            return False
        return super().supports(case)


@register_method
class PpoKl(_SglsPpo):
    """PPO with the adaptive KL penalty instead of clipping (Schulman et al. 2017 sec. 4; the
    SGLS paper's PPO-kl); ``hyperparams.json`` → ``ppo-kl``."""

    name: ClassVar[str] = "ppo-kl"


@register_method
class PpoClipKl(_SglsPpo):
    """PPO with the clipped objective and the adaptive KL penalty (the SGLS paper's
    PPO-clip-kl); ``hyperparams.json`` → ``ppo-clip-kl``."""

    name: ClassVar[str] = "ppo-clip-kl"


@register_method
class PpoKlFair(_SglsPpo):
    """``ppo-kl``'s objective under the fair-RL protocol of ``ppo``; ``hyperparams.json`` →
    ``ppo-kl-fair``."""

    name: ClassVar[str] = "ppo-kl-fair"


@register_method
class PpoClipKlFair(_SglsPpo):
    """``ppo-clip-kl``'s objective under the fair-RL protocol of ``ppo``; ``hyperparams.json``
    → ``ppo-clip-kl-fair``."""

    name: ClassVar[str] = "ppo-clip-kl-fair"
