"""Numpy policies from compiled acting functions, and the latent noise a latent
policy samples z with while acting."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import tensorflow as tf


def compiled_actor(act: Callable[[tf.Tensor], tf.Tensor], obs_dim: int
                   ) -> Callable[[np.ndarray], np.ndarray]:
  """A numpy policy over batches of observations from a learner's `act`, traced once."""
  act = tf.function(act, input_signature=[tf.TensorSpec([None, obs_dim], tf.float32)])
  return lambda observations: act(observations).numpy()


class LatentNoise:
  """Standard normal noise for the z a latent policy samples while acting (zeros unless
  `sample`, so z is pi_Z's mean). `reset(seeds)` starts one episode per seed,
  row i drawing from its own generator seeded seeds[i], so that an evaluation is
  reproducible for its seeds and an episode's draws do not depend on its neighbours."""

  def __init__(self, latent_dim: int, sample: bool):
    self.latent_dim, self.sample = latent_dim, sample
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
               latent_dim: int, sample: bool):
    self._act = tf.function(act, input_signature=[
        tf.TensorSpec([None, obs_dim], tf.float32), tf.TensorSpec([None, latent_dim], tf.float32)])
    self.noise = LatentNoise(latent_dim, sample)

  def reset(self, seeds: Sequence[int]) -> None:
    self.noise.reset(seeds)

  def __call__(self, observations: np.ndarray) -> np.ndarray:
    return self._act(observations, self.noise(len(observations))).numpy()
