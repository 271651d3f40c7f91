"""SB3 classes behind ``ppo-kl`` and ``ppo-clip-kl`` (see :mod:`gridbench.rl_agents.ppo_variants`
for the maths) and the SGLS paper's CNN + FC feature extractor (its Table 1).

Private module: it imports torch and Stable-Baselines3 at import time, so the package's method
discovery (which imports every public module) skips it; ``ppo_variants`` re-exports its names
lazily.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.distributions import Distribution, StateDependentNoiseDistribution
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.utils import explained_variance
from torch import nn
from torch.nn import functional as F

from gridbench.rl_agents.ppo_variants import (
    TABLE1_CHANNELS,
    TABLE1_KERNEL,
    TABLE1_STRIDES,
    adapt_kl_beta,
    conv_output_length,
)

__all__ = ["AdaptiveKLPPO", "CnnFcExtractor", "policy_kl", "surrogate_loss"]


# ---------------------------------------------------------------------------- the objective
def surrogate_loss(
    ratio: th.Tensor,
    advantages: th.Tensor,
    clip_range: float | None,
    kl: th.Tensor | None = None,
    beta: float = 0.0,
) -> th.Tensor:
    """The policy loss (to minimize) of the three PPO variants on one minibatch:

    * ``clip_range`` set, ``beta = 0``: ``−mean(min(r·A, clip(r, 1−ε, 1+ε)·A))``, PPO-clip
      (Schulman et al. 2017 eq 7; SGLS paper eq 29);
    * ``clip_range=None``: ``−mean(r·A) + β·mean(KL)``, the adaptive-KL-penalty objective
      (Schulman et al. 2017 eq 8);
    * both: ``−mean(min(r·A, clip(r)·A)) + β·mean(KL)``, PPO-clip-KL.

    ``ratio`` is ``π_θ(a|s)/π_θold(a|s)``, ``kl`` the per-sample ``KL[π_θold(·|s), π_θ(·|s)]``.
    """
    unclipped = advantages * ratio
    if clip_range is None:
        surrogate = unclipped
    else:
        surrogate = th.min(unclipped, advantages * th.clamp(ratio, 1 - clip_range, 1 + clip_range))
    loss = -surrogate.mean()
    if kl is not None and beta != 0.0:
        loss = loss + beta * kl.mean()
    return loss


def policy_kl(old: Distribution, new: Distribution) -> th.Tensor:
    """Per-sample ``KL[old ‖ new]`` of two SB3 action distributions, in closed form (torch's
    ``kl_divergence``; independent action dimensions summed, as SB3 sums their log-probs)."""
    if isinstance(new, StateDependentNoiseDistribution):
        raise ValueError("the KL-penalty PPO variants do not support use_sde=True")
    old_d, new_d = old.distribution, new.distribution
    if isinstance(new_d, list):  # MultiCategorical: one Categorical per sub-space
        return th.stack(
            [th.distributions.kl_divergence(o, n) for o, n in zip(old_d, new_d, strict=True)],
            dim=1,
        ).sum(dim=1)
    kl = th.distributions.kl_divergence(old_d, new_d)
    if kl.dim() > 1:
        kl = kl.sum(dim=tuple(range(1, kl.dim())))
    return kl


# ---------------------------------------------------------------------------- the algorithm
@dataclass(slots=True)
class _TrainStats:
    """What one update logs, per minibatch (``approx_kl_divs``: of the last epoch), as in
    SB3's ``PPO.train``."""

    entropy_losses: list[float] = field(default_factory=list)
    pg_losses: list[float] = field(default_factory=list)
    value_losses: list[float] = field(default_factory=list)
    clip_fractions: list[float] = field(default_factory=list)
    penalties: list[float] = field(default_factory=list)
    approx_kl_divs: list[float] = field(default_factory=list)


class AdaptiveKLPPO(PPO):
    """SB3 ``PPO`` with the adaptive KL penalty of Schulman et al. (2017, sec. 4), optionally
    keeping the clipped objective: ``clip_objective=False`` is ``ppo-kl``, ``True`` is
    ``ppo-clip-kl``.

    Each minibatch loss is ``surrogate_loss(r, A, ε or None, KL, β) + c_ent·H + c_vf·L_VF``
    with the exact ``KL[π_θold(·|s), π_θ(·|s)]`` (closed form; ``π_θold`` is a frozen copy of
    the policy that collected the rollout). After the ``n_epochs`` of one update,
    ``d = mean KL`` over the whole rollout and ``β ← adapt_kl_beta(β, d, kl_target)``
    (``β/2`` below ``d_targ/1.5``, ``2β`` above ``1.5·d_targ``). SB3's ``target_kl`` early
    stop stays available but off by default. Logged: ``train/kl_beta`` (the β of this update),
    ``train/kl`` (``d``), ``train/kl_penalty`` (mean ``β·KL`` over the minibatches),
    ``train/kl_target`` and SB3's usual PPO keys (``train/clip_range`` only when clipping;
    ``train/clip_fraction``, the share of samples with ``|r − 1| > ε``, is logged by both as a
    diagnostic of how far the ratio strays).
    """

    def __init__(
        self,
        policy: Any,
        env: Any,
        *,
        clip_objective: bool = True,
        kl_target: float = 0.01,
        kl_beta: float = 1.0,
        kl_tolerance: float = 1.5,
        kl_factor: float = 2.0,
        **kwargs: Any,
    ) -> None:
        # validate through the pure rule (raises ValueError naming the bad value)
        adapt_kl_beta(kl_beta, kl_target, kl_target, kl_tolerance, kl_factor)
        self.clip_objective = bool(clip_objective)
        self.kl_target = float(kl_target)
        self.kl_beta = float(kl_beta)
        self.kl_tolerance = float(kl_tolerance)
        self.kl_factor = float(kl_factor)
        super().__init__(policy, env, **kwargs)

    def train(self) -> None:
        """One PPO update on the collected rollout (SB3 2.9's ``PPO.train`` with the loss of
        :func:`surrogate_loss` and the β adaptation after the epochs)."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        clip_range = self.clip_range(self._current_progress_remaining)  # type: ignore[operator]
        clip_range_vf = None
        if self.clip_range_vf is not None:
            clip_range_vf = self.clip_range_vf(self._current_progress_remaining)  # type: ignore[operator]
        eps = clip_range if self.clip_objective else None
        beta = self.kl_beta

        old_policy = self._frozen_policy()
        stats = _TrainStats()
        continue_training = True
        for _epoch in range(self.n_epochs):
            stats.approx_kl_divs = []
            for rollout_data in self.rollout_buffer.get(self.batch_size):
                actions = rollout_data.actions
                if isinstance(self.action_space, spaces.Discrete):
                    actions = rollout_data.actions.long().flatten()
                obs = rollout_data.observations
                values, log_prob, entropy = self.policy.evaluate_actions(obs, actions)
                values = values.flatten()
                advantages = rollout_data.advantages
                if self.normalize_advantage and len(advantages) > 1:
                    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
                ratio = th.exp(log_prob - rollout_data.old_log_prob)

                with th.no_grad():
                    old_dist = old_policy.get_distribution(obs)
                kl = policy_kl(old_dist, self.policy.get_distribution(obs))
                policy_loss = surrogate_loss(ratio, advantages, eps, kl, beta)

                stats.pg_losses.append(policy_loss.item())
                stats.penalties.append(beta * kl.mean().item())
                stats.clip_fractions.append(
                    th.mean((th.abs(ratio - 1) > clip_range).float()).item()
                )

                if clip_range_vf is None:
                    values_pred = values
                else:
                    values_pred = rollout_data.old_values + th.clamp(
                        values - rollout_data.old_values, -clip_range_vf, clip_range_vf
                    )
                value_loss = F.mse_loss(rollout_data.returns, values_pred)
                stats.value_losses.append(value_loss.item())
                if entropy is None:
                    entropy_loss = -th.mean(-log_prob)
                else:
                    entropy_loss = -th.mean(entropy)
                stats.entropy_losses.append(entropy_loss.item())

                loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss

                with th.no_grad():
                    log_ratio = log_prob - rollout_data.old_log_prob
                    approx_kl_div = th.mean((th.exp(log_ratio) - 1) - log_ratio).cpu().numpy()
                    stats.approx_kl_divs.append(float(approx_kl_div))
                if self.target_kl is not None and approx_kl_div > 1.5 * self.target_kl:
                    continue_training = False
                    break

                self.policy.optimizer.zero_grad()
                loss.backward()
                th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
                self.policy.optimizer.step()

            self._n_updates += 1
            if not continue_training:
                break

        kl_after = self._rollout_kl(old_policy)
        self.kl_beta = adapt_kl_beta(
            beta, kl_after, self.kl_target, self.kl_tolerance, self.kl_factor
        )
        self._record_train(stats, loss, clip_range, clip_range_vf, kl_after, beta)

    def _frozen_policy(self) -> Any:
        """``π_θold``: a copy of the policy that collected the rollout, in eval mode, without
        gradients."""
        old_policy = copy.deepcopy(self.policy)
        old_policy.set_training_mode(False)
        old_policy.requires_grad_(False)
        return old_policy

    def _rollout_kl(self, old_policy: Any) -> float:
        """``d = Ê[KL[π_old, π_θ]]`` over the whole rollout, after the update (Schulman 2017
        sec. 4)."""
        self.policy.set_training_mode(False)
        with th.no_grad():
            kl_sum, n = 0.0, 0
            for data in self.rollout_buffer.get(None):
                obs = data.observations
                per_sample = policy_kl(
                    old_policy.get_distribution(obs), self.policy.get_distribution(obs)
                )
                kl_sum += float(per_sample.sum())
                n += int(per_sample.numel())
        return kl_sum / max(n, 1)

    def _record_train(
        self,
        stats: _TrainStats,
        loss: th.Tensor,
        clip_range: float,
        clip_range_vf: float | None,
        kl_after: float,
        beta: float,
    ) -> None:
        """SB3's ``train/*`` records of the update (``train/clip_range`` only when clipping),
        then the KL penalty's: ``kl`` (``d``), ``kl_beta`` (the β of this update),
        ``kl_penalty`` (mean ``β·KL`` over the minibatches), ``kl_target``."""
        explained_var = explained_variance(
            self.rollout_buffer.values.flatten(), self.rollout_buffer.returns.flatten()
        )
        self.logger.record("train/entropy_loss", np.mean(stats.entropy_losses))
        self.logger.record("train/policy_gradient_loss", np.mean(stats.pg_losses))
        self.logger.record("train/value_loss", np.mean(stats.value_losses))
        self.logger.record("train/approx_kl", np.mean(stats.approx_kl_divs))
        self.logger.record("train/clip_fraction", np.mean(stats.clip_fractions))
        self.logger.record("train/loss", loss.item())
        self.logger.record("train/explained_variance", explained_var)
        if hasattr(self.policy, "log_std"):
            self.logger.record("train/std", th.exp(self.policy.log_std).mean().item())
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        if self.clip_objective:
            self.logger.record("train/clip_range", clip_range)
        if clip_range_vf is not None:
            self.logger.record("train/clip_range_vf", clip_range_vf)
        self.logger.record("train/kl", kl_after)
        self.logger.record("train/kl_beta", beta)
        self.logger.record("train/kl_penalty", np.mean(stats.penalties))
        self.logger.record("train/kl_target", self.kl_target)


# ---------------------------------------------------------------------------- CNN + FC
class CnnFcExtractor(BaseFeaturesExtractor):
    """The convolutional feature extraction of the SGLS paper's Table 1: six convolutions with
    32, 64, 64, 128, 128, 256 filters, kernel 3, ReLU after each, then flattened. The two dense
    layers (256, 128) of Table 1 follow in the policy's ``net_arch`` (SB3's ``mlp_extractor``).

    The observation vector (length ``n``) is read as a one-channel sequence and convolved in
    1-D (``padding = kernel // 2``): the paper's 3×3 kernels act on a "state matrix" our flat
    observation does not have (see rl_agents/README.md). Table 1 gives no stride or pooling;
    the paper says the stack balances "feature quality and dimensionality reduction", so by
    default layers 2, 4 and 6 (where the filters widen) use stride 2 and the flattened
    features have ``256 · ⌈n/8⌉`` entries (:func:`conv_output_length`).
    """

    def __init__(
        self,
        observation_space: spaces.Box,
        channels: Sequence[int] = TABLE1_CHANNELS,
        kernel_size: int = TABLE1_KERNEL,
        strides: Sequence[int] = TABLE1_STRIDES,
    ) -> None:
        if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 1:
            raise ValueError(f"CnnFcExtractor needs a 1-D Box observation, got {observation_space}")
        channels = tuple(int(c) for c in channels)
        strides = tuple(int(s) for s in strides)
        n = int(observation_space.shape[0])
        length = conv_output_length(n, kernel_size, strides)
        if len(channels) != len(strides):
            raise ValueError(
                f"channels and strides must have equal lengths, got {len(channels)} and "
                f"{len(strides)}"
            )
        if any(c < 1 for c in channels):
            raise ValueError(f"channels must be >= 1, got {list(channels)}")
        super().__init__(observation_space, features_dim=channels[-1] * length)
        layers: list[nn.Module] = []
        c_in = 1
        for c_out, stride in zip(channels, strides, strict=True):
            layers += [
                nn.Conv1d(c_in, c_out, kernel_size, stride=stride, padding=kernel_size // 2),
                nn.ReLU(),
            ]
            c_in = c_out
        self.cnn = nn.Sequential(*layers, nn.Flatten())
        self.channels = channels
        self.kernel_size = int(kernel_size)
        self.strides = strides

    def forward(self, observations: th.Tensor) -> th.Tensor:
        return self.cnn(observations.reshape(observations.shape[0], 1, -1))
