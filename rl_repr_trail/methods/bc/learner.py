"""Behavioral cloning with a tanh-Gaussian policy: the paper's BC baseline."""

from __future__ import annotations

from typing import Callable

import numpy as np
import tensorflow as tf

from rl_repr_trail.core import acting
from rl_repr_trail.core import learner
from rl_repr_trail.core import optim
from rl_repr_trail.core import policies
from rl_repr_trail.core import replicas
from rl_repr_trail.data import datasets
from rl_repr_trail.methods.bc import config as bc_config


class BC(learner.Learner):
  """Behavioral cloning with a tanh-Gaussian policy: the paper's BC baseline."""

  def __init__(self, obs_dim: int, action_low: np.ndarray, action_high: np.ndarray,
               config: bc_config.BCConfig, seed: int = 0):
    super().__init__('bc', seed)
    self.config = config
    self.policy = policies.TanhGaussianPolicy(obs_dim, action_low, action_high, config.hidden)
    self.build_optimizer(optim.step_decay(config.learning_rate, config.decay_steps))
    self.temperature = policies.Temperature(
        len(action_low), optim.step_decay(config.learning_rate, config.decay_steps),
        config.entropy_term)

  @property
  def trained_variables(self) -> list[tf.Variable]:
    return self.policy.trainable_variables

  def checkpointed(self) -> dict[str, tf.Module | tf.Variable]:
    return {'policy': self.policy, 'optimizer': self.optimizer,
            'temperature': self.temperature, 'updates': self.updates}

  def expert_targets(self, expert: datasets.Dataset) -> None:
    """No targets beyond the expert transitions' own keys."""
    del expert

  def update(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    with tf.GradientTape() as tape:
      distribution = self.policy(batch['observations'])
      nll = -replicas.global_mean(self.policy.log_prob(distribution, batch['actions']))
      sample_log_prob, entropy_term = self.entropy_terms(self.policy, distribution,
                                                         tf.shape(batch['observations'])[0])
      loss = nll + entropy_term
    self.apply_gradients(tape, loss)
    alpha_loss = self.temperature.update(sample_log_prob)
    return self.finish({'loss': loss, 'action_nll': nll,
                        'entropy': -replicas.global_mean(sample_log_prob)},
                       alpha=self.temperature.alpha, alpha_loss=alpha_loss)

  def act(self, observations: tf.Tensor) -> tf.Tensor:
    return self.policy.mode(observations)

  def actor(self, obs_dim: int) -> Callable[[np.ndarray], np.ndarray]:
    return acting.compiled_actor(self.act, obs_dim)
