"""Downstream imitation of expert data: latent BC on TRAIL's latent actions, and plain BC.

Both learners have `update(batch)` returning scalar metrics and `actor(obs_dim)`, the
numpy policy evaluation runs; both add the entropy term with a learned temperature
(target entropy -|A|) to the policy's negative log-likelihood, unless their config's
`entropy_term` is off. Defaults are the original rl_repr code's.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Protocol, Sequence

import numpy as np
import tensorflow as tf
import tf_keras

from rl_repr_trail import policies
from rl_repr_trail import training

# How a latent policy acts: z sampled from pi_Z(s) at each choice (the original code's),
# or its mean (the paper's text).
LATENT_ACTIONS = ('sample', 'mean')


@dataclasses.dataclass
class LatentBCConfig:
  learning_rate: float = 1e-4
  hidden: tuple[int, ...] = (256, 256)
  finetune_decoder: bool = True
  entropy_term: bool = True
  latent_action: str = 'sample'


@dataclasses.dataclass
class BCConfig:
  learning_rate: float = 1e-3
  hidden: tuple[int, ...] = (256, 256)
  # The rate (the policy's and the temperature's) drops 10x after these optimizer steps.
  decay_steps: tuple[int, int] = (180_000, 190_000)
  entropy_term: bool = True


def step_decay(learning_rate: float, boundaries: tuple[int, ...]
               ) -> tf_keras.optimizers.schedules.LearningRateSchedule:
  """`learning_rate`, divided by 10 after each boundary (Keras: steps <= the boundary keep
  the earlier rate), the schedule of the original's BC."""
  return tf_keras.optimizers.schedules.PiecewiseConstantDecay(
      list(boundaries), [learning_rate / 10 ** i for i in range(len(boundaries) + 1)])


def compiled_actor(act: Callable[[tf.Tensor], tf.Tensor], obs_dim: int
                   ) -> Callable[[np.ndarray], np.ndarray]:
  """A numpy policy over batches of observations from a learner's `act`, traced once."""
  act = tf.function(act, input_signature=[tf.TensorSpec([None, obs_dim], tf.float32)])
  return lambda observations: act(observations).numpy()


class LatentNoise:
  """Standard normal noise for the z a latent policy samples while acting (zeros with
  latent_action='mean', so z is pi_Z's mean). `reset(seeds)` starts one episode per seed,
  row i drawing from its own generator seeded seeds[i], so that an evaluation is
  reproducible for its seeds and an episode's draws do not depend on its neighbours."""

  def __init__(self, latent_dim: int, latent_action: str):
    if latent_action not in LATENT_ACTIONS:
      raise ValueError(f'latent_action={latent_action!r}: expected one of {LATENT_ACTIONS}')
    self.latent_dim, self.sample = latent_dim, latent_action == 'sample'
    self.reset([0])

  def reset(self, seeds: Sequence[int]) -> None:
    self._rngs = [np.random.default_rng(seed) for seed in seeds]

  def __call__(self, rows: int) -> np.ndarray:
    if not self.sample:
      return np.zeros((rows, self.latent_dim), np.float32)
    if rows != len(self._rngs):
      raise ValueError(f'{rows} rows of latent noise asked for after reset with '
                       f'{len(self._rngs)} seeds.')
    return np.concatenate([rng.standard_normal((1, self.latent_dim), dtype=np.float32)
                           for rng in self._rngs])


def sampled_latent(distribution, noise: tf.Tensor) -> tf.Tensor:
  """z = mean + std * noise of a diagonal Gaussian over latents."""
  return distribution.mean() + distribution.stddev() * noise


class LatentActor:
  """Acts with the decoder's mode at z = sampled_latent(pi_Z(s), noise), a new z each step."""

  def __init__(self, act: Callable[[tf.Tensor, tf.Tensor], tf.Tensor], obs_dim: int,
               latent_dim: int, latent_action: str):
    self._act = tf.function(act, input_signature=[
        tf.TensorSpec([None, obs_dim], tf.float32), tf.TensorSpec([None, latent_dim], tf.float32)])
    self.noise = LatentNoise(latent_dim, latent_action)

  def reset(self, seeds: Sequence[int]) -> None:
    self.noise.reset(seeds)

  def __call__(self, observations: np.ndarray) -> np.ndarray:
    return self._act(observations, self.noise(len(observations))).numpy()


def _entropy_terms(learner, policy: policies.TanhGaussianPolicy, distribution,
                   rows: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """log pi of shared-noise samples, and alpha times their global mean."""
  noise = policies.entropy_noise(learner.seed, learner.updates, rows, learner.action_dim)
  sample_log_prob = policy.sample_log_prob(distribution, noise)
  return sample_log_prob, tf.stop_gradient(learner.temperature.alpha) * training.global_mean(
      sample_log_prob)


class LatentEmbedding(Protocol):
  """What latent BC reads of a pretrained embedding (trail.TrailLearner is one)."""

  latent_dim: int
  decoder: policies.TanhGaussianPolicy     # pi_alpha(a | s, z), fine-tuned downstream.
  temperature: policies.Temperature        # Its log_alpha continues downstream.

  def embed(self, observations: np.ndarray, actions: np.ndarray) -> tf.Tensor:
    """z = phi(s, a) for a batch of transitions."""


class LatentBC(tf.Module):
  """Imitates expert latent actions z* = phi(s, a*) with pi_Z and decodes them with pi_alpha.

  phi is frozen, so z* is computed once for the whole expert data (`targets`) and
  given in each batch under 'latents'. The decoder is fine-tuned unless disabled. The
  decoder's temperature is pretraining's log_alpha, continued at this phase's rate.
  """

  def __init__(self, embedding: LatentEmbedding, obs_dim: int, action_dim: int,
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
                                            config.entropy_term,
                                            log_alpha=embedding.temperature.log_alpha)
    self.optimizer = training.Adam(config.learning_rate)
    self.optimizer.build(self._variables)

  @property
  def _variables(self) -> list[tf.Variable]:
    variables = list(self.latent_policy.trainable_variables)
    if self.config.finetune_decoder:
      variables += self.decoder.trainable_variables
    return variables

  def targets(self, observations: np.ndarray, actions: np.ndarray,
              batch_size: int = 4096) -> dict[str, np.ndarray]:
    """{'latents': z* = embed(s, a*)} for every expert transition, in batches."""
    out = [self.embedding.embed(observations[i:i + batch_size], actions[i:i + batch_size])
           for i in range(0, len(observations), batch_size)]
    return {'latents': np.concatenate([z.numpy() for z in out]) if out else np.zeros(
        (0, self.embedding.latent_dim), np.float32)}

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

  def act(self, observations: tf.Tensor, noise: tf.Tensor) -> tf.Tensor:
    """a = mode of pi_alpha(. | s, z), z = mean + std * noise of pi_Z(s)."""
    latents = sampled_latent(self.latent_policy(observations), noise)
    return self.decoder.mode(tf.concat([observations, latents], axis=-1))

  def actor(self, obs_dim: int) -> LatentActor:
    return LatentActor(self.act, obs_dim, self.embedding.latent_dim, self.config.latent_action)


class BC(tf.Module):
  """Behavioral cloning with a tanh-Gaussian policy: the paper's BC baseline."""

  def __init__(self, obs_dim: int, action_low: np.ndarray, action_high: np.ndarray,
               config: BCConfig, seed: int = 0):
    super().__init__(name='bc')
    self.config = config
    self.seed, self.action_dim = seed, len(action_low)
    self.updates = training.sync_counter('updates')
    self.policy = policies.TanhGaussianPolicy(obs_dim, action_low, action_high, config.hidden)
    self.optimizer = training.Adam(step_decay(config.learning_rate, config.decay_steps))
    self.optimizer.build(self.policy.trainable_variables)
    self.temperature = policies.Temperature(
        len(action_low), step_decay(config.learning_rate, config.decay_steps),
        config.entropy_term)

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

