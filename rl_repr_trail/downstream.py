"""Downstream imitation of expert data: latent BC on TRAIL's latent actions, and plain BC.

Both learners have `update(batch)` returning scalar metrics, `act(observations)`
returning deterministic actions and `actor(obs_dim)`, the compiled numpy policy; both
add the entropy term with a learned temperature (target entropy -|A|) to the policy's
negative log-likelihood, unless their config's `entropy_term` is off.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import tensorflow as tf
import tf_keras

from rl_repr_trail import policies
from rl_repr_trail import trail
from rl_repr_trail import training


@dataclasses.dataclass
class LatentBCConfig:
  learning_rate: float = 1e-4
  hidden: tuple[int, ...] = (256, 256)
  finetune_decoder: bool = True
  entropy_term: bool = True


@dataclasses.dataclass
class BCConfig:
  learning_rate: float = 1e-3
  hidden: tuple[int, ...] = (256, 256)
  # The rate drops 10x at these fractions of the run (180k and 190k of 200k steps).
  decay_at: tuple[float, float] = (0.9, 0.95)
  entropy_term: bool = True


def compiled_actor(act: Callable[[tf.Tensor], tf.Tensor], obs_dim: int
                   ) -> Callable[[np.ndarray], np.ndarray]:
  """A numpy policy over batches of observations from a learner's `act`, traced once."""
  act = tf.function(act, input_signature=[tf.TensorSpec([None, obs_dim], tf.float32)])
  return lambda observations: act(observations).numpy()


def _entropy_terms(learner, policy: policies.TanhGaussianPolicy, distribution,
                   rows: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """log pi of shared-noise samples, and alpha times their global mean."""
  noise = policies.entropy_noise(learner.seed, learner.updates, rows, learner.action_dim)
  sample_log_prob = policy.sample_log_prob(distribution, noise)
  return sample_log_prob, tf.stop_gradient(learner.temperature.alpha) * training.global_mean(
      sample_log_prob)


class LatentBC(tf.Module):
  """Imitates expert latent actions z* = phi(s, a*) with pi_Z and decodes them with pi_alpha.

  phi is frozen, so z* is computed once for the whole expert data (`latents`) and
  given in each batch under 'latents'. The decoder is fine-tuned unless disabled.
  """

  def __init__(self, embedding: trail.TrailLearner, obs_dim: int, action_dim: int,
               config: LatentBCConfig, seed: int = 0):
    super().__init__(name='latent_bc')
    self.config = config
    self.seed, self.action_dim = seed, action_dim
    self.updates = training.sync_counter('updates')
    self.embedding = embedding
    self.decoder = embedding.decoder
    self.latent_policy = policies.GaussianLatentPolicy(obs_dim, embedding.latent_dim,
                                                       config.hidden)
    self.temperature = policies.Temperature(action_dim, config.learning_rate,
                                            config.entropy_term)
    self.optimizer = training.Adam(config.learning_rate)
    self.optimizer.build(self._variables)
    self.temperature.optimizer.build([self.temperature.log_alpha])

  @property
  def _variables(self) -> list[tf.Variable]:
    variables = list(self.latent_policy.trainable_variables)
    if self.config.finetune_decoder:
      variables += self.decoder.trainable_variables
    return variables

  def latents(self, observations: np.ndarray, actions: np.ndarray,
              batch_size: int = 4096) -> np.ndarray:
    """z* = embed(s, a*) for every expert transition, in batches."""
    out = [self.embedding.embed(observations[i:i + batch_size], actions[i:i + batch_size])
           for i in range(0, len(observations), batch_size)]
    return np.concatenate([z.numpy() for z in out]) if out else np.zeros(
        (0, self.embedding.latent_dim), np.float32)

  def update(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    obs, actions, latents = batch['observations'], batch['actions'], batch['latents']
    with tf.GradientTape() as tape:
      latent_nll = -training.global_mean(self.latent_policy(obs).log_prob(latents))
      distribution = self.decoder(tf.concat([obs, latents], axis=-1))
      action_nll = -training.global_mean(self.decoder.log_prob(distribution, actions))
      sample_log_prob, entropy_term = _entropy_terms(self, self.decoder, distribution,
                                                     tf.shape(obs)[0])
      loss = latent_nll + action_nll + entropy_term
    variables = self._variables
    self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    alpha_loss = self.temperature.update(sample_log_prob)
    self.updates.assign_add(1)
    return {'loss': training.reported(loss), 'latent_nll': training.reported(latent_nll),
            'action_nll': training.reported(action_nll),
            'entropy': -training.reported(training.global_mean(sample_log_prob)),
            'alpha': self.temperature.alpha, 'alpha_loss': alpha_loss}

  def act(self, observations: tf.Tensor) -> tf.Tensor:
    """a = mode of pi_alpha(. | s, z) with z the mean of pi_Z(s)."""
    latents = self.latent_policy(observations).mean()
    return self.decoder.mode(tf.concat([observations, latents], axis=-1))

  def actor(self, obs_dim: int) -> Callable[[np.ndarray], np.ndarray]:
    return compiled_actor(self.act, obs_dim)


class BC(tf.Module):
  """Behavioral cloning with a tanh-Gaussian policy: the paper's BC baseline."""

  def __init__(self, obs_dim: int, action_low: np.ndarray, action_high: np.ndarray,
               config: BCConfig, total_steps: int, seed: int = 0):
    super().__init__(name='bc')
    self.config = config
    self.seed, self.action_dim = seed, len(action_low)
    self.updates = training.sync_counter('updates')
    self.policy = policies.TanhGaussianPolicy(obs_dim, action_low, action_high, config.hidden)
    schedule = tf_keras.optimizers.schedules.PiecewiseConstantDecay(
        [int(f * total_steps) for f in config.decay_at],
        [config.learning_rate, config.learning_rate / 10, config.learning_rate / 100])
    self.optimizer = training.Adam(schedule)
    self.optimizer.build(self.policy.trainable_variables)
    self.temperature = policies.Temperature(len(action_low), config.learning_rate,
                                            config.entropy_term)
    self.temperature.optimizer.build([self.temperature.log_alpha])

  def update(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    with tf.GradientTape() as tape:
      distribution = self.policy(batch['observations'])
      nll = -training.global_mean(self.policy.log_prob(distribution, batch['actions']))
      sample_log_prob, entropy_term = _entropy_terms(self, self.policy, distribution,
                                                     tf.shape(batch['observations'])[0])
      loss = nll + entropy_term
    variables = self.policy.trainable_variables
    self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    alpha_loss = self.temperature.update(sample_log_prob)
    self.updates.assign_add(1)
    return {'loss': training.reported(loss), 'action_nll': training.reported(nll),
            'entropy': -training.reported(training.global_mean(sample_log_prob)),
            'alpha': self.temperature.alpha, 'alpha_loss': alpha_loss}

  def act(self, observations: tf.Tensor) -> tf.Tensor:
    return self.policy.mode(observations)

  def actor(self, obs_dim: int) -> Callable[[np.ndarray], np.ndarray]:
    return compiled_actor(self.act, obs_dim)

