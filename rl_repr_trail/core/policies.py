"""Policies: the tanh-squashed Gaussian over actions and the Gaussian over latents."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf
import tf_keras
import tensorflow_probability as tfp

from rl_repr_trail.core import networks
from rl_repr_trail.core import optim
from rl_repr_trail.core import replicas


tfd = tfp.distributions
tfb = tfp.bijectors

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0
# Data actions are pulled this far (in action units, as the original code does) inside
# the bounds before their log-prob is taken, so that data at the bounds has a finite
# likelihood.
BOUND_EPS = 1e-3


class TanhGaussianPolicy(tf_keras.Model):
  """pi(a | x): a diagonal Gaussian over u, squashed to a = center + half_range * tanh(u).

  Calling it gives the Gaussian over u; `log_prob`, `sample_log_prob` and `mode` apply
  the squashing. Spelling out the change of variables (instead of a tfp
  TransformedDistribution with a bijector chain) computes the same numbers with about
  half the graph ops, which sets the speed of these small update steps on a CPU.
  """

  def __init__(self, input_dim: int, action_low: np.ndarray, action_high: np.ndarray,
               hidden: Sequence[int] = (256, 256), name: str = 'tanh_gaussian_policy',
               init: str = 'original'):
    super().__init__(name=name)
    low = np.asarray(action_low, np.float32)
    high = np.asarray(action_high, np.float32)
    self.action_dim = low.shape[0]
    self.action_low, self.action_high = low, high
    self._center = tf.constant((high + low) / 2.0)
    self._half_range = tf.constant((high - low) / 2.0)
    # A ReLU trunk whose near-zero output layer starts the policy at mean 0, log-std 0.
    self.trunk = networks.mlp(input_dim, hidden, 2 * self.action_dim, name=f'{name}_mlp',
                              activation='relu', output_scale=networks.NEAR_ZERO_SCALE,
                              init=init)
    self._low = tf.constant(low + BOUND_EPS)
    self._high = tf.constant(high - BOUND_EPS)
    self._tanh = tfb.Tanh()
    self._log_half_range = float(np.sum(np.log((high - low) / 2.0)))

  def call(self, inputs: tf.Tensor) -> tfd.Distribution:
    """The Gaussian over the pre-squash u (event: the last axis)."""
    mean, log_std = tf.split(self.trunk(inputs), 2, axis=-1)
    log_std = tf.clip_by_value(log_std, LOG_STD_MIN, LOG_STD_MAX)
    return tfd.Independent(tfd.Normal(mean, tf.exp(log_std)), 1)

  def _squashed_log_prob(self, base: tfd.Distribution, u: tf.Tensor) -> tf.Tensor:
    """log pi(a) for a = squash(u): log N(u) - log |da/du|."""
    log_det = tf.reduce_sum(self._tanh.forward_log_det_jacobian(u, event_ndims=0), axis=-1)
    return base.log_prob(u) - log_det - self._log_half_range

  def log_prob(self, base: tfd.Distribution, actions: tf.Tensor) -> tf.Tensor:
    """Log-likelihood of data actions, finite at the action bounds."""
    clipped = tf.clip_by_value(actions, self._low, self._high)
    u = tf.atanh((clipped - self._center) / self._half_range)
    return self._squashed_log_prob(base, u)

  def sample_log_prob(self, base: tfd.Distribution, noise: tf.Tensor) -> tf.Tensor:
    """log pi(a~) of the reparametrized sample a~ = squash(mean + std * noise): the entropy
    term's estimate. The noise is given so that replicas can share one global draw."""
    return self.sample(base, noise)[1]

  def sample(self, base: tfd.Distribution, noise: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """The reparametrized sample a~ = squash(mean + std * noise) and its log pi(a~)."""
    u = base.mean() + base.stddev() * noise
    return self._center + self._half_range * tf.tanh(u), self._squashed_log_prob(base, u)

  def mode(self, inputs: tf.Tensor) -> tf.Tensor:
    """The squashed mean: the deterministic action used when acting."""
    return self._center + self._half_range * tf.tanh(self(inputs).mean())


# The original's clip of the latent Gaussians' log-variance: std >= exp(-2) = 0.135.
LOG_VAR_MIN, LOG_VAR_MAX = -4.0, 15.0


def diag_gaussian(params: tf.Tensor) -> tfd.Distribution:
  """A diagonal Gaussian from [..., 2k] network outputs: k means, then k log-variances."""
  return gaussian(*tf.split(params, 2, axis=-1))


def gaussian(mean: tf.Tensor, log_var: tf.Tensor) -> tfd.Distribution:
  """A diagonal Gaussian from means and log-variances (clipped to [LOG_VAR_MIN, LOG_VAR_MAX])."""
  log_var = tf.clip_by_value(log_var, LOG_VAR_MIN, LOG_VAR_MAX)
  return tfd.Independent(tfd.Normal(mean, tf.exp(0.5 * log_var)), 1)


class GaussianLatentPolicy(tf_keras.Model):
  """pi_Z(z | s): a diagonal Gaussian whose mean and log-variance come from a swish MLP.

  The MLP's 2k-wide output layer is held as two k-wide heads (mean, log-variance): the
  same network, but two half-width products and their gradients run faster on a CPU
  than one full-width product, and no split of the output (nor concatenation of its
  gradient) is needed (docs/speed.md).
  """

  def __init__(self, obs_dim: int, latent_dim: int, hidden: Sequence[int] = (256, 256),
               name: str = 'latent_policy'):
    super().__init__(name=name)
    self.body = networks.body(obs_dim, hidden, name=f'{name}_body')
    self.mean_head, self.log_var_head = networks.output_heads(
        hidden[-1] if hidden else obs_dim, (latent_dim, latent_dim), name=f'{name}_head')

  def call(self, observations: tf.Tensor) -> tfd.Distribution:
    features = self.body(observations)
    return gaussian(self.mean_head(features), self.log_var_head(features))


class Temperature(tf.Module):
  """Learned temperature alpha = exp(log_alpha) of a regulariser, target entropy -|A|.

  The loss is the original code's, alpha * stop_gradient(excess) averaged over the global
  batch, with excess = -log pi(a~) - target for the entropy term (`update`). `log_alpha`
  may be another Temperature's variable (latent BC continues pretraining's). With
  `enabled=False` alpha is 0 and never updated: the term drops out of the loss (the
  --noentropy_term ablation).
  """

  def __init__(self, action_dim: int, learning_rate, enabled: bool = True,
               log_alpha: tf.Variable | None = None):
    super().__init__(name='temperature')
    self.enabled = enabled
    self.log_alpha = log_alpha if log_alpha is not None else tf.Variable(0.0, name='log_alpha')
    self.target_entropy = -float(action_dim)
    self.optimizer = optim.Adam(learning_rate)
    self.optimizer.build([self.log_alpha])

  @property
  def alpha(self) -> tf.Tensor:
    return tf.exp(self.log_alpha) if self.enabled else tf.constant(0.0)

  def update(self, sample_log_prob: tf.Tensor) -> tf.Tensor:
    """One step of the entropy term's temperature; returns its loss."""
    return self.update_on(-sample_log_prob - self.target_entropy)

  def update_on(self, excess: tf.Tensor) -> tf.Tensor:
    """One step on alpha * mean(stop_gradient(excess)); returns that loss."""
    if not self.enabled:
      return tf.constant(0.0)
    excess = tf.stop_gradient(excess)
    with tf.GradientTape() as tape:
      loss = tf.exp(self.log_alpha) * replicas.global_mean(excess)
    self.optimizer.apply_gradients(zip(tape.gradient(loss, [self.log_alpha]), [self.log_alpha]))
    return replicas.reported(loss)


def entropy_noise(seed: int, counter: tf.Variable, rows: tf.Tensor, action_dim: int) -> tf.Tensor:
  """Noise for entropy_sample_log_prob, keyed on (seed, counter) and shared by replicas."""
  key = tf.stack([tf.constant(seed, tf.int64), counter * 2 + 1])
  return replicas.replica_normal(rows, action_dim, key)
