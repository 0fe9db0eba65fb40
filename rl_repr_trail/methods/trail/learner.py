"""TRAIL embedding learners: the energy-based model and its random-feature linear form.

phi(s, a) and psi(s') are trained with a contrastive loss whose energies are
E_ij = -||phi_i - psi_j||^2 (the other rows of the batch are the negatives),
while the action decoder pi_alpha(a | s, z) learns to invert the latent action z.
TRAIL EBM uses z = phi(s, a); TRAIL linear uses random Fourier features of the
normalized phi, z = cos(((phi - mu) / sigma) Omega^T / sqrt(d) + b).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from rl_repr_trail.core import learner
from rl_repr_trail.core import networks
from rl_repr_trail.core import policies
from rl_repr_trail.core import replicas
from rl_repr_trail.methods.trail import config as trail_config


def energies(phi: tf.Tensor, psi: tf.Tensor) -> tf.Tensor:
  """E_ij = -||phi_i - psi_j||^2, computed by inner products (no [B, B, d] tensor)."""
  phi_sq = tf.reduce_sum(tf.square(phi), axis=1, keepdims=True)
  psi_sq = tf.reduce_sum(tf.square(psi), axis=1, keepdims=True)
  return 2.0 * tf.matmul(phi, psi, transpose_b=True) - phi_sq - tf.transpose(psi_sq)


def contrastive_loss(energy: tf.Tensor, positives: tf.Tensor | None = None) -> tf.Tensor:
  """Per-row loss -E_i,p(i) + logsumexp_j E_ij; p(i) = i unless `positives` says otherwise."""
  if positives is None:
    positive = tf.linalg.diag_part(energy)
  else:
    positive = tf.gather(energy, positives[:, None], axis=1, batch_dims=1)[:, 0]
  return tf.reduce_logsumexp(energy, axis=1) - positive


def random_fourier_features(phi_normalized: tf.Tensor, omega: tf.Tensor,
                            bias: tf.Tensor) -> tf.Tensor:
  """cos(x Omega^T / sqrt(d) + b): random features of a Gaussian kernel on x."""
  d = tf.cast(tf.shape(omega)[1], phi_normalized.dtype)
  return tf.cos(tf.matmul(phi_normalized, omega, transpose_b=True) / tf.sqrt(d) + bias)


def _synced(initial: tf.Tensor, name: str) -> tf.Variable:
  """A statistic that every replica computes identically and writes once."""
  return tf.Variable(initial, trainable=False, name=name,
                     synchronization=tf.VariableSynchronization.ON_WRITE,
                     aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)


class TrailLearner(learner.Learner):
  """Pretrains phi, psi and the action decoder on offline transitions.

  `update(batch)` takes observations, actions and next_observations [B, ...] and
  returns a dict of scalar metrics; `embed(s, a)` gives the latent action z.
  """

  def __init__(self, obs_dim: int, action_low: np.ndarray, action_high: np.ndarray,
               config: trail_config.TrailConfig, seed: int = 0):
    super().__init__('trail', seed)
    self.config = config
    action_dim = len(action_low)
    self.phi = networks.mlp(obs_dim + action_dim, config.hidden, config.embed_dim, 'phi')
    self.psi = networks.mlp(obs_dim, config.hidden, config.embed_dim, 'psi')
    self.latent_dim = config.latent_dim
    self.decoder = policies.TanhGaussianPolicy(obs_dim + self.latent_dim, action_low,
                                               action_high, config.hidden, name='decoder')
    self.temperature = policies.Temperature(action_dim, config.learning_rate,
                                            config.entropy_term)
    self.build_optimizer(config.learning_rate)
    if config.linear:
      rng = np.random.default_rng(seed)
      self.omega = tf.Variable(rng.standard_normal((config.fourier_dim, config.embed_dim)),
                               dtype=tf.float32, trainable=False, name='omega')
      self.fourier_bias = tf.Variable(rng.uniform(0, 2 * math.pi, config.fourier_dim),
                                      dtype=tf.float32, trainable=False, name='fourier_bias')
      self.phi_mean = _synced(tf.zeros([config.embed_dim]), 'phi_mean')
      self.phi_var = _synced(tf.ones([config.embed_dim]), 'phi_var')

  @property
  def trained_variables(self) -> list[tf.Variable]:
    return (self.phi.trainable_variables + self.psi.trainable_variables
            + self.decoder.trainable_variables)

  def checkpointed(self) -> dict[str, tf.Module | tf.Variable]:
    held = {'phi': self.phi, 'psi': self.psi, 'decoder': self.decoder,
            'temperature': self.temperature, 'optimizer': self.optimizer,
            'updates': self.updates}
    if self.config.linear:  # The random features and phi's running moments.
      held.update(omega=self.omega, fourier_bias=self.fourier_bias, phi_mean=self.phi_mean,
                  phi_var=self.phi_var)
    return held

  def features(self, phi: tf.Tensor) -> tf.Tensor:
    """The latent action from phi's output (identity for EBM, Fourier features for linear)."""
    if not self.config.linear:
      return phi
    normalized = (phi - self.phi_mean) / tf.sqrt(self.phi_var + 1e-8)
    return random_fourier_features(normalized, self.omega, self.fourier_bias)

  def embed(self, observations: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
    return self.features(self.phi(tf.concat([observations, actions], axis=-1)))

  def _shuffled_rows(self, batch_size: tf.Tensor, stream: int) -> tf.Tensor:
    """Row indices where each row is, with probability shuffle_prob, another random row.

    Stateless random ops keyed on the update count: every replica draws the same.
    """
    key = tf.stack([tf.constant(self.seed, tf.int64), self.updates * 2 + stream])
    keep = tf.random.stateless_uniform([batch_size], key) >= self.config.shuffle_prob
    other = tf.random.stateless_uniform([batch_size], key + [0, 1_000_003], 0, batch_size,
                                        dtype=tf.int32)
    return tf.where(keep, tf.range(batch_size), other)

  def update(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """One step on this replica's rows; negatives come from the global batch."""
    obs, actions = batch['observations'], batch['actions']
    local = tf.shape(obs)[0]
    global_size = local * replicas.num_replicas()
    own_rows = replicas.replica_offset(local) + tf.range(local)
    phi_rows = tf.gather(self._shuffled_rows(global_size, 0), own_rows)
    psi_rows = self._shuffled_rows(global_size, 1)
    with tf.GradientTape() as tape:
      phi = self.phi(tf.concat([obs, actions], axis=-1))
      psi = self.psi(batch['next_observations'])
      energy = energies(tf.gather(replicas.replica_gather(phi), phi_rows),
                        tf.gather(replicas.replica_gather(psi), psi_rows))
      contrastive = replicas.global_mean(contrastive_loss(energy, own_rows))
      distribution = self.decoder(tf.concat([obs, self.features(phi)], axis=-1))
      decoder_nll = -replicas.global_mean(self.decoder.log_prob(distribution, actions))
      sample_log_prob, entropy_term = self.entropy_terms(self.decoder, distribution, local,
                                                         stream=1)
      loss = contrastive + decoder_nll + entropy_term
    self.apply_gradients(tape, loss)
    alpha_loss = self.temperature.update(sample_log_prob)
    if self.config.linear:
      phi_sum = replicas.replica_sum(tf.reduce_sum(tf.stop_gradient(phi), axis=0))
      phi_sq = replicas.replica_sum(tf.reduce_sum(tf.square(tf.stop_gradient(phi)), axis=0))
      mean = phi_sum / tf.cast(global_size, tf.float32)
      var = phi_sq / tf.cast(global_size, tf.float32) - tf.square(mean)
      rate = self.config.moment_rate
      self.phi_mean.assign(self.phi_mean + rate * (mean - self.phi_mean))
      self.phi_var.assign(self.phi_var + rate * (var - self.phi_var))
    correct = tf.equal(tf.argmax(energy, axis=1, output_type=tf.int32), own_rows)
    return self.finish({'loss': loss, 'contrastive_loss': contrastive,
                        'contrastive_accuracy': replicas.global_mean(tf.cast(correct, tf.float32)),
                        'decoder_nll': decoder_nll,
                        'entropy': -replicas.global_mean(sample_log_prob)},
                       alpha=self.temperature.alpha, alpha_loss=alpha_loss)
