"""SB3 subclasses behind ``ddpg-per-or`` (see :mod:`gridbench.rl_agents.per_or` for the maths).

Private module: it imports torch and Stable-Baselines3 at import time, so the package's method
discovery (which imports every public module) skips it; ``per_or`` re-exports its names lazily.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from numpy.typing import ArrayLike, NDArray
from stable_baselines3 import DDPG
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.policies import ContinuousCritic
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.utils import polyak_update
from stable_baselines3.common.vec_env import VecNormalize
from stable_baselines3.td3.policies import Actor, TD3Policy
from torch import nn

from gridbench.rl_agents.per_or import SumTree, importance_weights

__all__ = [
    "PerOrDDPG",
    "PrioritizedReplayBuffer",
    "PrioritizedReplayBufferSamples",
    "Table2Policy",
    "linear_weights",
    "orthogonal_regularization",
]


# ---------------------------------------------------------------------------- OR (eq 28)
def orthogonal_regularization(weights: Iterable[th.Tensor], lam: float) -> th.Tensor:
    """``λ/2 · Σ_i ‖W_iᵀ W_i − I‖²_F`` (eq 28) over 2-D weight matrices.

    Computed through the smaller Gram matrix: for ``W`` of shape (out, in) with out < in,
    ``‖WᵀW − I_in‖²_F = ‖WWᵀ − I_out‖²_F + (in − out)`` (both equal
    ``‖WWᵀ‖²_F − 2‖W‖²_F + dim``), so the value is exactly eq 28's at a fraction of the cost
    for the output layers; the gradient is the same.
    """
    total: th.Tensor | None = None
    for w in weights:
        if w.dim() != 2:
            raise ValueError(f"orthogonal regularization needs 2-D weights, got {tuple(w.shape)}")
        out_dim, in_dim = w.shape
        if out_dim < in_dim:
            gram = w @ w.T
            offset = float(in_dim - out_dim)
        else:
            gram = w.T @ w
            offset = 0.0
        eye = th.eye(gram.shape[0], dtype=w.dtype, device=w.device)
        term = ((gram - eye) ** 2).sum() + offset
        total = term if total is None else total + term
    if total is None:
        return th.zeros(())
    return 0.5 * lam * total


def linear_weights(module: nn.Module) -> list[th.Tensor]:
    """The weight matrices of every ``nn.Linear`` in ``module`` (LayerNorm gains excluded)."""
    return [m.weight for m in module.modules() if isinstance(m, nn.Linear)]


# ---------------------------------------------------------------------------- PER buffer
class PrioritizedReplayBufferSamples(NamedTuple):
    """``ReplayBufferSamples`` plus the IS ``weights`` (column tensor) and the leaf
    ``indices`` to pass back to :meth:`PrioritizedReplayBuffer.update_priorities`."""

    observations: th.Tensor
    actions: th.Tensor
    next_observations: th.Tensor
    dones: th.Tensor
    rewards: th.Tensor
    discounts: th.Tensor | None = None
    weights: th.Tensor | None = None
    indices: NDArray[np.intp] | None = None


class PrioritizedReplayBuffer(ReplayBuffer):
    """Proportional prioritized replay (Schaul et al. 2016; SES-carbon eq 27) on SB3's
    ``ReplayBuffer`` storage. Leaf ``k`` of the sum tree is (position ``k // n_envs``, env
    ``k % n_envs``). IS weights are divided by their maximum over the stored transitions
    (``weight_norm="buffer"``, Schaul et al.'s and OpenAI baselines' reading) or over the batch
    (``"batch"``). Random draws use numpy's global generator, like SB3's own buffer, so the
    algorithm's seed fixes the sampling."""

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: th.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        alpha: float = 0.6,
        beta: float = 0.4,
        eps: float = 1e-6,
        weight_norm: str = "buffer",
    ) -> None:
        if weight_norm not in {"buffer", "batch"}:
            raise ValueError(f"weight_norm must be 'buffer' or 'batch', got {weight_norm!r}")
        if optimize_memory_usage:
            raise ValueError("PrioritizedReplayBuffer does not support optimize_memory_usage=True")
        if not (math.isfinite(alpha) and alpha >= 0):
            raise ValueError(f"alpha must be finite and >= 0, got {alpha}")
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"beta must lie in [0, 1], got {beta}")
        if not (math.isfinite(eps) and eps > 0):
            raise ValueError(f"eps must be finite and > 0, got {eps}")
        super().__init__(
            buffer_size,
            observation_space,
            action_space,
            device=device,
            n_envs=n_envs,
            optimize_memory_usage=False,
            handle_timeout_termination=handle_timeout_termination,
        )
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.eps = float(eps)
        self.weight_norm = weight_norm
        self.max_priority = 1.0
        self.tree = SumTree(self.buffer_size * self.n_envs)

    @property
    def n_stored(self) -> int:
        """Transitions stored (over all envs)."""
        return (self.buffer_size if self.full else self.pos) * self.n_envs

    def priorities(self) -> NDArray[np.float64]:
        """Priorities ``p_i`` of the stored transitions, in leaf order (``p_i^α`` inverted)."""
        stored = self.tree.values[: self.n_stored]
        if self.alpha == 0:
            return np.full(stored.shape, np.nan)
        return stored ** (1.0 / self.alpha)

    def add(
        self,
        obs: np.ndarray,
        next_obs: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        done: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        first = self.pos * self.n_envs
        super().add(obs, next_obs, action, reward, done, infos)
        self.tree.update(np.arange(first, first + self.n_envs), self.max_priority**self.alpha)

    def sample(  # type: ignore[override]
        self, batch_size: int, env: VecNormalize | None = None
    ) -> PrioritizedReplayBufferSamples:
        n = self.n_stored
        if n == 0:
            raise ValueError("cannot sample from an empty PrioritizedReplayBuffer")
        leaves = self.tree.sample(batch_size, np.random.random_sample(batch_size), n_valid=n)
        total = self.tree.total
        probs = self.tree.values[leaves] / total
        p_min = self.tree.min(n) / total if self.weight_norm == "buffer" else probs.min()
        weights = importance_weights(probs, n, self.beta, p_min)
        return self._samples_at(leaves, weights, env)

    def _samples_at(
        self, leaves: NDArray[np.intp], weights: NDArray[np.float64], env: VecNormalize | None
    ) -> PrioritizedReplayBufferSamples:
        batch_inds, env_inds = np.divmod(leaves, self.n_envs)
        data = (
            self._normalize_obs(self.observations[batch_inds, env_inds, :], env),
            self.actions[batch_inds, env_inds, :],
            self._normalize_obs(self.next_observations[batch_inds, env_inds, :], env),
            (self.dones[batch_inds, env_inds] * (1 - self.timeouts[batch_inds, env_inds])).reshape(
                -1, 1
            ),
            self._normalize_reward(self.rewards[batch_inds, env_inds].reshape(-1, 1), env),
        )
        tensors = tuple(map(self.to_torch, data))
        w = self.to_torch(weights.astype(np.float32).reshape(-1, 1))
        return PrioritizedReplayBufferSamples(*tensors, None, w, leaves)

    def update_priorities(self, indices: ArrayLike, td_errors: ArrayLike) -> None:
        """``p_i = |δ_i| + ε`` for the sampled leaves ``indices``."""
        p = np.abs(np.asarray(td_errors, dtype=np.float64).reshape(-1)) + self.eps
        if not np.all(np.isfinite(p)):
            raise ValueError("TD errors must be finite to update priorities")
        self.tree.update(indices, p**self.alpha)
        self.max_priority = max(self.max_priority, float(p.max()))


# ---------------------------------------------------------------------------- Table 2 networks
def _table2_mlp(
    in_dim: int,
    out_dim: int,
    hidden: Sequence[int],
    *,
    layer_norm: bool,
    ortho_init: bool,
    squash: bool,
    out_gain: float,
) -> nn.Sequential:
    """``Linear → [LayerNorm] → ReLU → (Linear → ReLU)* → Linear [→ tanh]``."""
    layers: list[nn.Module] = []
    dims = [in_dim, *hidden]
    linears: list[tuple[nn.Linear, float]] = []
    for i in range(len(hidden)):
        lin = nn.Linear(dims[i], dims[i + 1])
        linears.append((lin, math.sqrt(2.0)))
        layers.append(lin)
        if layer_norm and i == 0:
            layers.append(nn.LayerNorm(dims[i + 1]))
        layers.append(nn.ReLU())
    out = nn.Linear(dims[-1], out_dim)
    linears.append((out, out_gain))
    layers.append(out)
    if squash:
        layers.append(nn.Tanh())
    if ortho_init:
        for lin, gain in linears:
            nn.init.orthogonal_(lin.weight, gain=gain)
            nn.init.zeros_(lin.bias)
    return nn.Sequential(*layers)


class Table2Policy(TD3Policy):
    """``TD3Policy`` with SES-carbon Table 2's networks: layer normalization after the first
    linear layer (``layer_norm``) and orthogonal initialization (``ortho_init``) for the actor,
    the critic(s) and their targets; ``net_arch`` as usual (Table 2: ``[256, 256]``)."""

    def __init__(self, *args: Any, layer_norm: bool = True, ortho_init: bool = True, **kwargs: Any):
        self.layer_norm = bool(layer_norm)
        self.ortho_init = bool(ortho_init)
        super().__init__(*args, **kwargs)

    def make_actor(self, features_extractor: BaseFeaturesExtractor | None = None) -> Actor:
        actor = super().make_actor(features_extractor)
        actor.mu = _table2_mlp(
            actor.features_dim,
            get_action_dim(self.action_space),
            actor.net_arch,
            layer_norm=self.layer_norm,
            ortho_init=self.ortho_init,
            squash=True,
            out_gain=0.01,
        ).to(self.device)
        return actor

    def make_critic(
        self, features_extractor: BaseFeaturesExtractor | None = None
    ) -> ContinuousCritic:
        critic = super().make_critic(features_extractor)
        in_dim = critic.features_extractor.features_dim + get_action_dim(self.action_space)
        for idx in range(critic.n_critics):
            q_net = _table2_mlp(
                in_dim,
                1,
                self.critic_kwargs["net_arch"],
                layer_norm=self.layer_norm,
                ortho_init=self.ortho_init,
                squash=False,
                out_gain=1.0,
            ).to(self.device)
            setattr(critic, f"qf{idx}", q_net)
            critic.q_networks[idx] = q_net
        return critic

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(layer_norm=self.layer_norm, ortho_init=self.ortho_init)
        return data


# ---------------------------------------------------------------------------- DDPG + PER + OR
class PerOrDDPG(DDPG):
    """SB3 ``DDPG`` with a :class:`PrioritizedReplayBuffer` and orthogonal regularization.

    Extra arguments: ``per_alpha``, ``per_beta0`` (annealed linearly to 1 over the run),
    ``per_eps``, ``or_lambda`` (λ of eq 28; 0 disables OR), ``or_networks`` (subset of
    ``("actor", "critic")``). Everything else is SB3's ``DDPG`` (TD3 with one critic, policy
    delay 1 and no target smoothing noise).
    """

    replay_buffer: PrioritizedReplayBuffer
    OR_NETWORKS: ClassVar[frozenset[str]] = frozenset({"actor", "critic"})

    def __init__(
        self,
        policy: str | type[TD3Policy],
        env: Any,
        *args: Any,
        per_alpha: float = 0.6,
        per_beta0: float = 0.4,
        per_eps: float = 1e-6,
        or_lambda: float = 1e-4,
        or_networks: Sequence[str] = ("actor", "critic"),
        replay_buffer_kwargs: dict[str, Any] | None = None,
        _init_setup_model: bool = True,
        **kwargs: Any,
    ) -> None:
        unknown = set(or_networks) - self.OR_NETWORKS
        if unknown:
            raise ValueError(
                f"or_networks {sorted(unknown)} unknown; valid: {sorted(self.OR_NETWORKS)}"
            )
        if not (math.isfinite(or_lambda) and or_lambda >= 0):
            raise ValueError(f"or_lambda must be finite and >= 0, got {or_lambda}")
        if not 0.0 <= per_beta0 <= 1.0:
            raise ValueError(f"per_beta0 must lie in [0, 1], got {per_beta0}")
        rb_kwargs = {"alpha": per_alpha, "beta": per_beta0, "eps": per_eps}
        rb_kwargs.update(replay_buffer_kwargs or {})
        kwargs.pop("replay_buffer_class", None)
        super().__init__(
            policy,
            env,
            *args,
            replay_buffer_class=PrioritizedReplayBuffer,
            replay_buffer_kwargs=rb_kwargs,
            _init_setup_model=False,
            **kwargs,
        )
        self.per_alpha = float(per_alpha)
        self.per_beta0 = float(per_beta0)
        self.per_eps = float(per_eps)
        self.or_lambda = float(or_lambda)
        self.or_networks = tuple(or_networks)
        if _init_setup_model:
            self._setup_model()

    def current_beta(self) -> float:
        """``β₀ + (1 − β₀)·progress``: β₀ at the start of ``learn``, 1 at its end."""
        progress = 1.0 - float(self._current_progress_remaining)
        return min(1.0, self.per_beta0 + (1.0 - self.per_beta0) * max(0.0, progress))

    def _or_term(self, network: str) -> th.Tensor | None:
        if self.or_lambda == 0 or network not in self.or_networks:
            return None
        module = self.actor if network == "actor" else self.critic
        return orthogonal_regularization(linear_weights(module), self.or_lambda)

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        self.policy.set_training_mode(True)
        self._update_learning_rate([self.actor.optimizer, self.critic.optimizer])
        buffer = self.replay_buffer
        buffer.beta = self.current_beta()

        actor_losses, critic_losses, or_actor, or_critic, weights_mean = [], [], [], [], []
        for _ in range(gradient_steps):
            self._n_updates += 1
            data = buffer.sample(batch_size, env=self._vec_normalize_env)
            discounts = data.discounts if data.discounts is not None else self.gamma
            assert data.weights is not None and data.indices is not None

            with th.no_grad():
                # DDPG: target_noise_clip = 0, so the smoothing noise is exactly 0 (kept to
                # draw the same random numbers as SB3's TD3.train)
                noise = data.actions.clone().data.normal_(0, self.target_policy_noise)
                noise = noise.clamp(-self.target_noise_clip, self.target_noise_clip)
                next_actions = (self.actor_target(data.next_observations) + noise).clamp(-1, 1)
                next_q = th.cat(self.critic_target(data.next_observations, next_actions), dim=1)
                next_q, _ = th.min(next_q, dim=1, keepdim=True)
                target_q = data.rewards + (1 - data.dones) * discounts * next_q

            current_q = self.critic(data.observations, data.actions)
            critic_loss = sum((data.weights * (q - target_q) ** 2).mean() for q in current_q)
            assert isinstance(critic_loss, th.Tensor)
            critic_losses.append(critic_loss.item())
            or_c = self._or_term("critic")
            loss = critic_loss if or_c is None else critic_loss + or_c
            if or_c is not None:
                or_critic.append(or_c.item())

            self.critic.optimizer.zero_grad()
            loss.backward()
            self.critic.optimizer.step()

            td = (current_q[0] - target_q).detach().abs().cpu().numpy().reshape(-1)
            buffer.update_priorities(data.indices, td)
            weights_mean.append(float(data.weights.mean()))

            if self._n_updates % self.policy_delay == 0:
                actor_loss = -self.critic.q1_forward(
                    data.observations, self.actor(data.observations)
                ).mean()
                actor_losses.append(actor_loss.item())
                or_a = self._or_term("actor")
                if or_a is not None:
                    or_actor.append(or_a.item())
                    actor_loss = actor_loss + or_a

                self.actor.optimizer.zero_grad()
                actor_loss.backward()
                self.actor.optimizer.step()

                polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
                polyak_update(self.actor.parameters(), self.actor_target.parameters(), self.tau)
                polyak_update(
                    self.critic_batch_norm_stats, self.critic_batch_norm_stats_target, 1.0
                )
                polyak_update(self.actor_batch_norm_stats, self.actor_batch_norm_stats_target, 1.0)

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        if actor_losses:
            self.logger.record("train/actor_loss", np.mean(actor_losses))
        self.logger.record("train/critic_loss", np.mean(critic_losses))
        if or_actor:
            self.logger.record("train/or_actor", np.mean(or_actor))
        if or_critic:
            self.logger.record("train/or_critic", np.mean(or_critic))
        self.logger.record("train/per_beta", buffer.beta)
        self.logger.record("train/per_max_priority", buffer.max_priority)
        self.logger.record("train/per_is_weight_mean", np.mean(weights_mean))
