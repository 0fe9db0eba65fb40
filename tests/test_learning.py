"""Learning on a small synthetic system: the losses fall and the contrast is learned."""

import numpy as np
import pytest

from rl_repr_trail import data
from rl_repr_trail import downstream
from rl_repr_trail import skills
from rl_repr_trail import trail
from rl_repr_trail import training

OBS, ACT, BATCH = 6, 2, 64


@pytest.fixture(scope='module')
def linear_system():
  """Episodes of s' = 0.9 s + B a from random starts, random actions in [-1, 1]."""
  rng = np.random.default_rng(0)
  b = rng.normal(size=(ACT, OBS))
  episodes, length = 40, 50
  obs = np.zeros((episodes * length, OBS), np.float32)
  actions = rng.uniform(-1, 1, (episodes * length, ACT)).astype(np.float32)
  nxt = np.zeros_like(obs)
  timeouts = np.zeros(episodes * length, bool)
  for e in range(episodes):
    s = rng.normal(size=OBS)
    for t in range(length):
      i = e * length + t
      obs[i] = s
      s = 0.9 * s + actions[i] @ b
      nxt[i] = s
    timeouts[e * length + length - 1] = True
  return data.from_arrays(obs, actions, np.zeros_like(timeouts), timeouts, nxt)


def _train(update, sampler, steps):
  run = training.compile_steps(update, sampler, BATCH)
  first = {k: float(v) for k, v in run(1).items()}
  last = {k: float(v) for k, v in run(steps).items()}
  return first, last


@pytest.mark.parametrize('fourier_dim', [0, 64])
def test_pretraining_learns_the_contrast(linear_system, fourier_dim):
  learner = trail.TrailLearner(OBS, -np.ones(ACT), np.ones(ACT), trail.TrailConfig(
      embed_dim=16, fourier_dim=fourier_dim, hidden=(64, 64), learning_rate=1e-3))
  first, last = _train(learner.update, training.Sampler(linear_system, 0), 600)
  assert last['contrastive_loss'] < first['contrastive_loss'] - 1.0, (first, last)
  assert last['decoder_nll'] < first['decoder_nll'], (first, last)
  # Chance is 1/64; the 10% row shuffles on each side cap it near 0.81.
  assert last['contrastive_accuracy'] > 0.5, last


def test_latent_bc_and_bc_reduce_their_losses(linear_system):
  learner = trail.TrailLearner(OBS, -np.ones(ACT), np.ones(ACT), trail.TrailConfig(
      embed_dim=16, hidden=(64, 64), learning_rate=1e-3))
  _train(learner.update, training.Sampler(linear_system, 0), 200)
  latent_bc = downstream.LatentBC(learner, OBS, ACT, downstream.LatentBCConfig(
      learning_rate=1e-3, hidden=(64, 64)))
  rows = linear_system.transition_rows()
  latents = latent_bc.latents(linear_system.observations[rows], linear_system.actions[rows])
  first, last = _train(latent_bc.update,
                       training.Sampler(linear_system, 1, {'latents': latents}), 400)
  assert last['latent_nll'] < first['latent_nll'] - 1.0, (first, last)
  bc = downstream.BC(OBS, -np.ones(ACT), np.ones(ACT), downstream.BCConfig(hidden=(64, 64)), 400)
  first, last = _train(bc.update, training.Sampler(linear_system, 2), 400)
  assert last['action_nll'] < first['action_nll'], (first, last)


def test_frozen_embedding_is_not_changed_by_latent_bc(linear_system):
  learner = trail.TrailLearner(OBS, -np.ones(ACT), np.ones(ACT), trail.TrailConfig(
      embed_dim=8, hidden=(32,)))
  phi_before = [w.copy() for w in learner.phi.get_weights()]
  decoder_before = [w.copy() for w in learner.decoder.get_weights()]
  latent_bc = downstream.LatentBC(learner, OBS, ACT, downstream.LatentBCConfig(hidden=(32,)))
  rows = linear_system.transition_rows()
  latents = latent_bc.latents(linear_system.observations[rows], linear_system.actions[rows])
  _train(latent_bc.update, training.Sampler(linear_system, 1, {'latents': latents}), 20)
  for before, after in zip(phi_before, learner.phi.get_weights()):
    np.testing.assert_array_equal(before, after)
  assert any(np.any(b != a) for b, a in zip(decoder_before, learner.decoder.get_weights()))


def test_skill_model_learns_windows_and_freezes_its_encoder_downstream(linear_system):
  config = skills.SkillConfig(window=5, latent_dim=4, hidden=(64, 64), learning_rate=1e-3)
  learner = skills.SkillLearner(OBS, -np.ones(ACT), np.ones(ACT), config)
  first, last = _train(learner.update, training.Sampler(linear_system, 0, window=5), 400)
  assert last['reconstruction'] < first['reconstruction'] - 1.0, (first, last)
  encoder_before = [w.copy() for w in learner.encoder.get_weights()]
  latent_bc = skills.SkillLatentBC(learner, OBS, 1e-3, (64, 64))
  starts = linear_system.window_starts(5)
  rows = starts[:, None] + np.arange(5)
  latents = latent_bc.latents(linear_system.observations[rows], linear_system.actions[rows])
  first, last = _train(latent_bc.update, training.Sampler(
      linear_system, 1, {'latents': latents}, window=5), 300)
  assert last['latent_nll'] < first['latent_nll'], (first, last)
  for before, after in zip(encoder_before, learner.encoder.get_weights()):
    np.testing.assert_array_equal(before, after)
