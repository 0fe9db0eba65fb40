"""Temporal skill learners, the paper's baselines: OPAL, SPiRL and SkiLD.

One variational model over windows of t steps: an encoder q(z | window) (a
bidirectional LSTM over (s, a); SPiRL's sees the actions only), a Gaussian prior
rho(z | s_0) on the window's first state and a decoder pi(a | s, z) shared by the
window's steps. Loss per window: sum_t -log pi(a_t | s_t, z) + 0.1 KL(q || rho),
with z drawn from q. Downstream, a latent policy imitates the skill inferred from
each expert window and, when acting, picks a new z every t steps.

The three differ where the papers do: SPiRL encodes actions only; SkiLD's
downstream latent policy starts from the learned skill prior and is kept near it
(KL, same weight), the imitation-only form of its prior-guided skill choice.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
import tensorflow as tf
import tf_keras
import tensorflow_probability as tfp

from rl_repr_trail import policies
from rl_repr_trail import training

tfd = tfp.distributions
VARIANTS = ('opal', 'spirl', 'skild')


@dataclasses.dataclass
class SkillConfig:
  variant: str = 'opal'
  window: int = 10                 # t, steps per skill.
  latent_dim: int = 8              # Width of z.
  hidden: tuple[int, ...] = (256, 256)
  # Units of each direction of the encoder's LSTM. 128, not 256: measured on 2 cores,
  # 256 units make a pretraining step about twice as slow (5.6 vs 10.7 steps/s).
  encoder_units: int = 128
  kl_weight: float = 0.1
  learning_rate: float = 1e-4


class WindowEncoder(tf_keras.Model):
  """q(z | window): a bidirectional LSTM over the window, then a diagonal Gaussian."""

  def __init__(self, input_dim: int, window: int, latent_dim: int, units: int,
               name: str = 'encoder'):
    super().__init__(name=name)
    self.body = tf_keras.Sequential([
        tf_keras.layers.Bidirectional(tf_keras.layers.LSTM(units, unroll=True)),
        tf_keras.layers.Dense(2 * latent_dim)], name=f'{name}_net')
    self.body.build((None, window, input_dim))

  def call(self, windows: tf.Tensor) -> tfd.Distribution:
    return policies.diag_gaussian(self.body(windows))


def _repeat_over_window(z: tf.Tensor, window: int) -> tf.Tensor:
  return tf.repeat(z[:, None, :], window, axis=1)


class SkillLearner(tf.Module):
  """Pretrains the skill model on offline windows; `update(batch)` as TrailLearner's."""

  def __init__(self, obs_dim: int, action_low: np.ndarray, action_high: np.ndarray,
               config: SkillConfig, seed: int = 0):
    super().__init__(name=config.variant)
    if config.variant not in VARIANTS:
      raise ValueError(f'skill variant {config.variant!r}: expected one of {VARIANTS}')
    self.config = config
    self.seed = seed
    self.window, self.latent_dim = config.window, config.latent_dim
    action_dim = len(action_low)
    encoder_dim = action_dim if config.variant == 'spirl' else obs_dim + action_dim
    self.encoder = WindowEncoder(encoder_dim, config.window, config.latent_dim,
                                 config.encoder_units)
    self.prior = policies.GaussianLatentPolicy(obs_dim, config.latent_dim, config.hidden,
                                               name='prior')
    self.decoder = policies.TanhGaussianPolicy(obs_dim + config.latent_dim, action_low,
                                               action_high, config.hidden, name='decoder')
    self.optimizer = training.Adam(config.learning_rate)
    self.optimizer.build(self._variables)
    self.updates = training.sync_counter('updates')

  @property
  def _variables(self) -> list[tf.Variable]:
    return (self.encoder.trainable_variables + self.prior.trainable_variables
            + self.decoder.trainable_variables)

  def posterior(self, observations: tf.Tensor, actions: tf.Tensor) -> tfd.Distribution:
    """q(z | window) for windows [B, t, ...]."""
    if self.config.variant == 'spirl':
      return self.encoder(actions)
    return self.encoder(tf.concat([observations, actions], axis=-1))

  def decoder_log_probs(self, observations: tf.Tensor, actions: tf.Tensor,
                        z: tf.Tensor) -> tf.Tensor:
    """log pi(a_t | s_t, z) [B, t], one z per window."""
    inputs = tf.concat([observations, _repeat_over_window(z, self.window)], axis=-1)
    return self.decoder.log_prob(self.decoder(inputs), actions)

  def losses(self, observations: tf.Tensor, actions: tf.Tensor,
             noise: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Reconstruction and KL per window, z = mean + std * noise drawn from q."""
    posterior = self.posterior(observations, actions)
    z = posterior.mean() + posterior.stddev() * noise
    reconstruction = -tf.reduce_sum(self.decoder_log_probs(observations, actions, z), axis=1)
    return reconstruction, tfd.kl_divergence(posterior, self.prior(observations[:, 0]))

  def update(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    obs, actions = batch['observations'], batch['actions']
    key = tf.stack([tf.constant(self.seed, tf.int64), self.updates])
    noise = training.replica_normal(tf.shape(obs)[0], self.latent_dim, key)
    with tf.GradientTape() as tape:
      reconstruction, kl = self.losses(obs, actions, noise)
      reconstruction, kl = training.global_mean(reconstruction), training.global_mean(kl)
      loss = reconstruction + self.config.kl_weight * kl
    variables = self._variables
    self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    self.updates.assign_add(1)
    return {'loss': training.reported(loss),
            'reconstruction': training.reported(reconstruction),
            'kl': training.reported(kl)}


class SkillLatentBC(tf.Module):
  """Imitates the skills z* = E q(z | expert window) with a latent policy pi_Z(z | s_0).

  The encoder is frozen, so z* is computed once (`latents`) and given in each batch
  under 'latents'; the decoder is fine-tuned on the expert windows unless disabled.
  """

  def __init__(self, skills: SkillLearner, obs_dim: int, learning_rate: float,
               hidden: tuple[int, ...], finetune_decoder: bool = True):
    super().__init__(name='skill_latent_bc')
    self.skills = skills
    self.window = skills.window
    self.decoder = skills.decoder
    self.finetune_decoder = finetune_decoder
    self.latent_policy = policies.GaussianLatentPolicy(obs_dim, skills.latent_dim, hidden)
    self.regularize = skills.config.variant == 'skild'
    if self.regularize:
      if tuple(hidden) != tuple(skills.config.hidden):
        raise ValueError('SkiLD starts its latent policy from the skill prior: the hidden '
                         'sizes must match.')
      self.latent_policy.set_weights(skills.prior.get_weights())
    self.optimizer = training.Adam(learning_rate)
    self.optimizer.build(self._variables)
    self.updates = training.sync_counter('updates')

  @property
  def _variables(self) -> list[tf.Variable]:
    variables = list(self.latent_policy.trainable_variables)
    if self.finetune_decoder:
      variables += self.decoder.trainable_variables
    return variables

  def latents(self, observations: np.ndarray, actions: np.ndarray,
              batch_size: int = 1024) -> np.ndarray:
    """z* for expert windows [N, t, ...], in batches."""
    out = [self.skills.posterior(observations[i:i + batch_size],
                                 actions[i:i + batch_size]).mean().numpy()
           for i in range(0, len(observations), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, self.skills.latent_dim), np.float32)

  def update(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    obs, actions, latents = batch['observations'], batch['actions'], batch['latents']
    with tf.GradientTape() as tape:
      choice = self.latent_policy(obs[:, 0])
      latent_nll = -training.global_mean(choice.log_prob(latents))
      action_nll = -training.global_mean(tf.reduce_sum(
          self.skills.decoder_log_probs(obs, actions, latents), axis=1))
      loss = latent_nll + action_nll
      metrics = {'latent_nll': latent_nll, 'action_nll': action_nll}
      if self.regularize:
        # The prior is not among the variables: it stays as pretrained.
        prior_kl = training.global_mean(tfd.kl_divergence(choice, self.skills.prior(obs[:, 0])))
        loss += self.skills.config.kl_weight * prior_kl
        metrics['prior_kl'] = prior_kl
    variables = self._variables
    self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    self.updates.assign_add(1)
    return {'loss': training.reported(loss),
            **{k: training.reported(v) for k, v in metrics.items()}}

  def actor(self, obs_dim: int) -> 'ResamplingActor':
    """The evaluation policy: z = mean of pi_Z(s) every t steps, a = decoder mode."""
    spec = tf.TensorSpec([None, obs_dim], tf.float32)
    choose = tf.function(lambda obs: self.latent_policy(obs).mean(), input_signature=[spec])
    decode = tf.function(
        lambda obs, z: self.decoder.mode(tf.concat([obs, z], axis=-1)),
        input_signature=[spec, tf.TensorSpec([None, self.skills.latent_dim], tf.float32)])
    return ResamplingActor(lambda obs: choose(obs).numpy(),
                           lambda obs, z: decode(obs, z).numpy(), self.window)


class ResamplingActor:
  """Acts with a skill: a new z every `window` steps of an episode, held in between."""

  def __init__(self, choose_latent: Callable[[np.ndarray], np.ndarray],
               decode: Callable[[np.ndarray, np.ndarray], np.ndarray], window: int):
    self._choose, self._decode, self.window = choose_latent, decode, window
    self.reset()

  def reset(self) -> None:
    """Starts an episode: the next call picks a new z."""
    self._z, self._steps = None, 0

  def __call__(self, observations: np.ndarray) -> np.ndarray:
    if self._steps % self.window == 0:
      self._z = self._choose(observations)
    self._steps += 1
    return self._decode(observations, self._z)
