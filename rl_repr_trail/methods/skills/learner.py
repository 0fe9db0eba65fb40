"""Temporal skill learners, the paper's baselines: OPAL, SPiRL and SkiLD.

One variational model over windows of t steps, as the original rl_repr code has it: an
encoder q(z | window) (a per-step swish MLP, then a bidirectional LSTM; SPiRL's sees the
actions only), a Gaussian prior rho(z | s_0) on the window's first state and a decoder
pi(a | s, z) shared by the window's steps. Loss per window: sum_t -log pi(a_t | s_t, z)
+ 0.1 KL(q || rho), with z drawn from q. Downstream, a latent policy imitates a skill
drawn from q(z | expert window) at each step, the decoder is fine-tuned on the window,
and when acting a new z is drawn from pi_Z(s) every t steps.

OPAL and SkiLD share the pretraining learner and differ downstream, as in the original:
OPAL's decoder gets the entropy term at the window's first state, SkiLD's latent policy
instead the prior term alpha KL(pi_Z || rho), alpha learned (the original's 'prior'
regulariser). SPiRL is OPAL's downstream on an actions-only encoder. Each method
fixes these in its configs (SkillConfig.encoder_input, SkillLatentBCConfig.prior_term).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import tensorflow as tf
import tf_keras
import tensorflow_probability as tfp

from rl_repr_trail.core import acting
from rl_repr_trail.core import learner
from rl_repr_trail.core import networks
from rl_repr_trail.core import policies
from rl_repr_trail.core import replicas
from rl_repr_trail.data import datasets
from rl_repr_trail.methods.latent_bc import learner as latent_bc
from rl_repr_trail.methods.skills import config as skills_config


tfd = tfp.distributions


class WindowEncoder(tf_keras.Model):
  """q(z | window): a swish MLP on each step, a bidirectional LSTM over the steps (the
  forward output at the last step with the backward output at the first), then a
  dense layer to the mean and log-variance of z."""

  def __init__(self, input_dim: int, window: int, latent_dim: int, hidden: tuple[int, ...],
               units: int, name: str = 'encoder'):
    super().__init__(name=name)
    self.step_mlp = networks.mlp(input_dim, hidden, hidden[-1], name=f'{name}_step_mlp')
    # Keras' own initialisers for the LSTM and the last layer, as in the original.
    self.sequence = tf_keras.Sequential([
        tf_keras.layers.Bidirectional(tf_keras.layers.LSTM(units, unroll=True)),
        tf_keras.layers.Dense(2 * latent_dim)], name=f'{name}_sequence')
    self.sequence.build((None, window, hidden[-1]))

  def call(self, windows: tf.Tensor) -> tfd.Distribution:
    shape = tf.shape(windows)
    steps = self.step_mlp(tf.reshape(windows, [-1, windows.shape[-1]]))
    return policies.diag_gaussian(self.sequence(
        tf.reshape(steps, tf.concat([shape[:2], [steps.shape[-1]]], axis=0))))


def _repeat_over_window(z: tf.Tensor, window: int) -> tf.Tensor:
  return tf.repeat(z[:, None, :], window, axis=1)


class SkillLearner(learner.Learner):
  """Pretrains the skill model on offline windows; `update(batch)` as TrailLearner's."""

  def __init__(self, obs_dim: int, action_low: np.ndarray, action_high: np.ndarray,
               config: skills_config.SkillConfig, seed: int = 0):
    if config.encoder_input not in skills_config.ENCODER_INPUTS:
      raise ValueError(f'encoder_input {config.encoder_input!r}: expected one of '
                       f'{skills_config.ENCODER_INPUTS}')
    super().__init__('skills', seed)
    self.actions_only = config.encoder_input == 'actions'
    self.config = config
    self.window, self.latent_dim = config.window, config.latent_dim
    action_dim = len(action_low)
    encoder_dim = action_dim if self.actions_only else obs_dim + action_dim
    self.encoder = WindowEncoder(encoder_dim, config.window, config.latent_dim, config.hidden,
                                 config.encoder_units)
    self.prior = policies.GaussianLatentPolicy(obs_dim, config.latent_dim, config.hidden,
                                               name='prior')
    self.decoder = policies.TanhGaussianPolicy(obs_dim + config.latent_dim, action_low,
                                               action_high, config.hidden, name='decoder')
    self.build_optimizer(config.learning_rate)

  @property
  def trained_variables(self) -> list[tf.Variable]:
    return (self.encoder.trainable_variables + self.prior.trainable_variables
            + self.decoder.trainable_variables)

  def checkpointed(self) -> dict[str, tf.Module | tf.Variable]:
    return {'encoder': self.encoder, 'prior': self.prior, 'decoder': self.decoder,
            'optimizer': self.optimizer, 'updates': self.updates}

  def posterior(self, observations: tf.Tensor, actions: tf.Tensor) -> tfd.Distribution:
    """q(z | window) for windows [B, t, ...]."""
    if self.actions_only:
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
    noise = replicas.replica_normal(tf.shape(obs)[0], self.latent_dim, key)
    with tf.GradientTape() as tape:
      reconstruction, kl = self.losses(obs, actions, noise)
      reconstruction, kl = replicas.global_mean(reconstruction), replicas.global_mean(kl)
      loss = reconstruction + self.config.kl_weight * kl
    self.apply_gradients(tape, loss)
    return self.finish({'loss': loss, 'reconstruction': reconstruction, 'kl': kl})


class SkillLatentBC(latent_bc.LatentPolicyLearner):
  """Imitates skills z* ~ q(z | expert window) with a latent policy pi_Z(z | s_0).

  The encoder is frozen, so q's mean and std are computed once (`targets`) and given in
  each batch; z* is drawn from them at each step. The decoder is fine-tuned on the expert
  windows unless disabled. Its regulariser: the entropy term at the window's first
  state (OPAL, SPiRL), or for SkiLD alpha KL(pi_Z || rho) on the frozen prior.
  """

  def __init__(self, skills: SkillLearner, obs_dim: int, action_dim: int,
               config: skills_config.SkillLatentBCConfig, seed: int = 0):
    super().__init__('skill_latent_bc', seed, config, skills.decoder, obs_dim,
                     skills.latent_dim)
    self.skills = skills
    self.window = skills.window
    self.prior_term = config.prior_term
    # The prior term defines SkiLD: --noentropy_term leaves it on.
    self.temperature = policies.Temperature(action_dim, config.learning_rate,
                                            self.prior_term or config.entropy_term)
    self.build_optimizer(config.learning_rate)

  def checkpointed(self) -> dict[str, tf.Module | tf.Variable]:
    return {**super().checkpointed(), 'skills': self.skills}

  def expert_targets(self, expert: datasets.Dataset) -> dict[str, np.ndarray]:
    """Each expert window's posterior mean and std (the sampler's items are windows)."""
    rows = expert.window_starts(self.window)[:, None] + np.arange(self.window)
    return self.targets(expert.observations[rows], expert.actions[rows])

  def targets(self, observations: np.ndarray, actions: np.ndarray,
              batch_size: int = 1024) -> dict[str, np.ndarray]:
    """Mean and std of q(z | window) for expert windows [N, t, ...], in batches."""
    means, stds = [], []
    for i in range(0, len(observations), batch_size):
      posterior = self.skills.posterior(observations[i:i + batch_size],
                                        actions[i:i + batch_size])
      means.append(posterior.mean().numpy())
      stds.append(posterior.stddev().numpy())
    empty = np.zeros((0, self.skills.latent_dim), np.float32)
    return {'latent_mean': np.concatenate(means) if means else empty,
            'latent_std': np.concatenate(stds) if stds else empty}

  def update(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    obs, actions = batch['observations'], batch['actions']
    rows = tf.shape(obs)[0]
    key = tf.stack([tf.constant(self.seed, tf.int64), self.updates * 2])
    latents = batch['latent_mean'] + batch['latent_std'] * replicas.replica_normal(
        rows, self.skills.latent_dim, key)
    alpha = tf.stop_gradient(self.temperature.alpha)
    with tf.GradientTape() as tape:
      choice = self.latent_policy(obs[:, 0])
      latent_nll = -replicas.global_mean(choice.log_prob(latents))
      action_nll = -replicas.global_mean(tf.reduce_sum(
          self.skills.decoder_log_probs(obs, actions, latents), axis=1))
      if self.prior_term:
        # The prior is not among the variables: it stays as pretrained.
        prior_kl = tfd.kl_divergence(choice, self.skills.prior(obs[:, 0]))
        regularizer = alpha * replicas.global_mean(prior_kl)
        metrics = {'prior_kl': replicas.global_mean(prior_kl)}
      else:
        first = self.decoder(tf.concat([obs[:, 0], latents], axis=-1))
        sample_log_prob, regularizer = self.entropy_terms(self.decoder, first, rows)
        metrics = {'entropy': -replicas.global_mean(sample_log_prob)}
      loss = latent_nll + action_nll + regularizer
    self.apply_gradients(tape, loss)
    if self.prior_term:  # The original's: alpha * stop_gradient(alpha KL - target).
      alpha_loss = self.temperature.update_on(
          alpha * prior_kl - self.temperature.target_entropy)
    else:
      alpha_loss = self.temperature.update(sample_log_prob)
    return self.finish({'loss': loss, 'latent_nll': latent_nll, 'action_nll': action_nll,
                        **metrics}, alpha=self.temperature.alpha, alpha_loss=alpha_loss)

  def actor(self, obs_dim: int) -> 'ResamplingActor':
    """The evaluation policy: z from pi_Z(s) every t steps (sampled, or its mean with
    latent_action='mean'), a = the decoder's mode."""
    latent_dim = self.skills.latent_dim
    spec = tf.TensorSpec([None, obs_dim], tf.float32)
    z_spec = tf.TensorSpec([None, latent_dim], tf.float32)
    choose = tf.function(
        lambda obs, noise: acting.sampled_latent(self.latent_policy(obs), noise),
        input_signature=[spec, z_spec])
    decode = tf.function(lambda obs, z: self.decoder.mode(tf.concat([obs, z], axis=-1)),
                         input_signature=[spec, z_spec])
    return ResamplingActor(lambda obs, noise: choose(obs, noise).numpy(),
                           lambda obs, z: decode(obs, z).numpy(), self.window,
                           acting.LatentNoise(latent_dim, self.config.latent_action == 'sample'))


class ResamplingActor:
  """Acts with a skill: a new z every `window` steps of an episode, held in between (each
  row holds its own z; the rows' episodes start together)."""

  def __init__(self, choose_latent: Callable[[np.ndarray, np.ndarray], np.ndarray],
               decode: Callable[[np.ndarray, np.ndarray], np.ndarray], window: int,
               noise: acting.LatentNoise):
    self._choose, self._decode, self.window = choose_latent, decode, window
    self.noise = noise
    self.reset([0])

  def reset(self, seeds: Sequence[int]) -> None:
    """Starts one episode per seed, side by side: the next call picks each row's new z;
    row i's noise is seeded seeds[i]."""
    self._z, self._steps = None, 0
    self.noise.reset(seeds)

  def __call__(self, observations: np.ndarray) -> np.ndarray:
    if self._steps % self.window == 0:
      self._z = self._choose(observations, self.noise(len(observations)))
    self._steps += 1
    return self._decode(observations, self._z)
