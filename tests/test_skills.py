"""The skill baselines (OPAL, SPiRL, SkiLD): losses against numpy, windows, acting."""

import numpy as np
import pytest
import tensorflow as tf

from rl_repr_trail.core import acting
from rl_repr_trail.core import policies
from rl_repr_trail.data import batches
from rl_repr_trail.data import datasets
from rl_repr_trail.envs import evaluation
from rl_repr_trail.envs import tasks
from rl_repr_trail.methods import registry
from rl_repr_trail.methods.skills import config as skills_config
from rl_repr_trail.methods.skills import learner as skills


from test_math import _numpy_tanh_gaussian_log_prob

OBS, ACT, T, LATENT, B = 4, 2, 3, 2, 5
LOW, HIGH = -np.ones(ACT, np.float32), np.array([1.0, 2.0], np.float32)


VARIANTS = ('opal', 'spirl', 'skild')


def _learner(variant='opal', seed=0):
  """The variant's pretraining learner, configured as its registry entry fixes it."""
  return skills.SkillLearner(OBS, LOW, HIGH, skills_config.SkillConfig(
      window=T, latent_dim=LATENT, hidden=(16, 16), **registry.get(variant).embedding_preset),
      seed=seed)


def _windows(seed=0):
  rng = np.random.default_rng(seed)
  obs = rng.normal(size=(B, T, OBS)).astype(np.float32)
  actions = rng.uniform(LOW * 0.9, HIGH * 0.9, size=(B, T, ACT)).astype(np.float32)
  return obs, actions


def _numpy_gaussian(params):
  mean, log_var = np.split(params.astype(np.float64), 2, axis=-1)
  return mean, np.exp(0.5 * np.clip(log_var, policies.LOG_VAR_MIN, policies.LOG_VAR_MAX))


def _numpy_losses(learner, obs, actions, noise):
  """Reconstruction and KL per window from the networks' raw outputs, in numpy."""
  inputs = (actions if learner.config.encoder_input == 'actions'
            else np.concatenate([obs, actions], -1))
  steps = learner.encoder.step_mlp(inputs.reshape(B * T, -1)).numpy().reshape(B, T, -1)
  q_mean, q_std = _numpy_gaussian(learner.encoder.sequence(steps).numpy())
  features = learner.prior.body(obs[:, 0])
  p_mean, p_std = _numpy_gaussian(np.concatenate(
      [learner.prior.mean_head(features).numpy(), learner.prior.log_var_head(features).numpy()],
      -1))
  z = q_mean + q_std * noise
  decoder_in = np.concatenate([obs, np.repeat(z[:, None], T, axis=1)], -1).astype(np.float32)
  out = learner.decoder.trunk(decoder_in).numpy().astype(np.float64)
  mean, log_std = out[..., :ACT], np.clip(out[..., ACT:], policies.LOG_STD_MIN,
                                          policies.LOG_STD_MAX)
  log_probs = _numpy_tanh_gaussian_log_prob(actions.astype(np.float64), mean, np.exp(log_std),
                                            LOW, HIGH)
  kl = np.sum(np.log(p_std / q_std) + (q_std ** 2 + (q_mean - p_mean) ** 2) / (2 * p_std ** 2)
              - 0.5, axis=-1)
  return -log_probs.sum(axis=1), kl


@pytest.mark.parametrize('variant', VARIANTS)
def test_skill_losses_match_numpy(variant):
  learner = _learner(variant)
  obs, actions = _windows()
  noise = np.random.default_rng(1).normal(size=(B, LATENT)).astype(np.float32)
  reconstruction, kl = learner.losses(tf.constant(obs), tf.constant(actions), tf.constant(noise))
  expected_rec, expected_kl = _numpy_losses(learner, obs, actions, noise)
  np.testing.assert_allclose(reconstruction.numpy(), expected_rec, rtol=1e-3, atol=1e-3)
  np.testing.assert_allclose(kl.numpy(), expected_kl, rtol=1e-3, atol=1e-4)
  assert np.all(kl.numpy() > 0)
  # One update reports reconstruction + 0.1 KL of its batch (noise keyed on seed and step 0).
  update_noise = tf.random.stateless_normal([B, LATENT], tf.constant([0, 0], tf.int64)).numpy()
  rec0, kl0 = _numpy_losses(learner, obs, actions, update_noise)
  metrics = learner.update({'observations': tf.constant(obs), 'actions': tf.constant(actions)})
  np.testing.assert_allclose(float(metrics['loss']), rec0.mean() + 0.1 * kl0.mean(), rtol=1e-3)
  np.testing.assert_allclose(float(metrics['kl']), kl0.mean(), rtol=1e-3)


def test_spirl_encodes_actions_only():
  obs, actions = _windows()
  other_obs = obs + 1.0
  spirl, opal = _learner('spirl'), _learner('opal')
  np.testing.assert_array_equal(spirl.posterior(obs, actions).mean().numpy(),
                                spirl.posterior(other_obs, actions).mean().numpy())
  assert not np.allclose(opal.posterior(obs, actions).mean().numpy(),
                         opal.posterior(other_obs, actions).mean().numpy())


def _skill_bc(variant, entropy_term=True):
  learner = _learner(variant)
  bc = skills.SkillLatentBC(learner, OBS, ACT, skills_config.SkillLatentBCConfig(
      hidden=(16, 16), entropy_term=entropy_term, **registry.get(variant).downstream_preset))
  obs, actions = _windows()
  batch = {'observations': tf.constant(obs), 'actions': tf.constant(actions),
           **{k: tf.constant(v) for k, v in bc.targets(obs, actions).items()}}
  return bc, batch


def _numpy_latent_nll(bc, batch, z):
  choice = bc.latent_policy(batch['observations'][:, 0])
  mean, std = choice.mean().numpy().astype(np.float64), choice.stddev().numpy().astype(np.float64)
  return np.mean(np.sum(0.5 * ((z - mean) / std) ** 2 + np.log(std) + 0.5 * np.log(2 * np.pi),
                        axis=-1))


def test_skill_downstream_target_is_a_sample_of_the_posterior():
  """z* = mean + std * noise of q(z | expert window), the noise keyed on (seed, 2 * step)."""
  bc, batch = _skill_bc('opal')
  mean, std = batch['latent_mean'].numpy(), batch['latent_std'].numpy()
  assert np.all(std > 0.1)  # A fresh encoder is far from deterministic.
  noise = tf.random.stateless_normal([B, LATENT], tf.constant([0, 0], tf.int64)).numpy()
  sampled = _numpy_latent_nll(bc, batch, mean + std * noise)
  at_mean = _numpy_latent_nll(bc, batch, mean)
  got = float(bc.update(batch)['latent_nll'])
  np.testing.assert_allclose(got, sampled, rtol=1e-4)
  assert abs(got - at_mean) > 1e-2


def test_skild_downstream_has_the_prior_term_with_a_learned_weight():
  """SkiLD: loss = latent NLL + action NLL + alpha KL(pi_Z || rho), alpha = exp(log_alpha)
  trained on alpha * (alpha KL + |A|) (so it falls); OPAL has the entropy term instead."""
  bc, batch = _skill_bc('skild')
  first = bc.update(batch)
  assert 'prior_kl' in first and 'entropy' not in first
  assert float(first['prior_kl']) > 0
  # The first step's weight is exp(0) = 1; 'alpha' reports it after its own step, fallen.
  np.testing.assert_allclose(
      float(first['loss']),
      float(first['latent_nll']) + float(first['action_nll']) + float(first['prior_kl']),
      rtol=1e-5)
  assert float(first['alpha']) < 1.0
  second = bc.update(batch)
  np.testing.assert_allclose(
      float(second['loss']), float(second['latent_nll']) + float(second['action_nll'])
      + float(first['alpha']) * float(second['prior_kl']), rtol=1e-4)
  # --noentropy_term leaves SkiLD's prior term on.
  assert 'prior_kl' in _skill_bc('skild', entropy_term=False)[0].update(batch)
  opal, opal_batch = _skill_bc('opal')
  metrics = opal.update(opal_batch)
  assert 'prior_kl' not in metrics and float(metrics['entropy']) != 0
  # The latent policy starts fresh, not from the prior.
  prior = bc.skills.prior(batch['observations'][:, 0]).mean().numpy()
  fresh = skills.SkillLatentBC(_learner('skild'), OBS, ACT, skills_config.SkillLatentBCConfig(
      hidden=(16, 16), prior_term=True)).latent_policy(batch['observations'][:, 0]).mean().numpy()
  assert not np.allclose(prior, fresh)


def test_skill_encoder_is_a_step_mlp_then_a_256_unit_bilstm():
  encoder = skills.SkillLearner(OBS, LOW, HIGH, skills_config.SkillConfig(window=T)).encoder
  assert [layer.activation.__name__ for layer in encoder.step_mlp.layers] == [
      'swish', 'swish', 'linear']
  assert encoder.step_mlp.layers[-1].units == 256
  bidirectional = encoder.sequence.layers[0]
  assert bidirectional.forward_layer.units == bidirectional.backward_layer.units == 256


def test_window_sampler_draws_consecutive_rows_of_one_episode():
  # Two timed-out episodes of 6 and 4 rows: 5 and 3 transitions (a timed-out episode's
  # last row is no transition), so windows of 3 start at rows 0-2 and 6.
  rng = np.random.default_rng(0)
  obs = np.arange(10 * OBS, dtype=np.float32).reshape(10, OBS)
  actions = rng.normal(size=(10, ACT)).astype(np.float32)
  terminals = np.zeros(10, bool)
  timeouts = np.zeros(10, bool)
  timeouts[5] = timeouts[9] = True
  dataset = datasets.from_arrays(obs, actions, terminals, timeouts)
  np.testing.assert_array_equal(dataset.window_starts(T), [0, 1, 2, 6])
  sampler = batches.Sampler(dataset, seed=0, per_item={'latents': np.arange(4.0)}, window=T)
  batch = {k: v.numpy() for k, v in sampler.sample(64).items()}
  starts = batch['observations'][:, 0, 0] / OBS
  assert set(starts) == {0, 1, 2, 6}
  np.testing.assert_array_equal(batch['observations'][:, :, 0] / OBS,
                                starts[:, None] + np.arange(T))
  np.testing.assert_array_equal(batch['actions'], actions[starts.astype(int)[:, None]
                                                          + np.arange(T)])
  np.testing.assert_array_equal(batch['latents'], [{0: 0, 1: 1, 2: 2, 6: 3}[s] for s in starts])
  with pytest.raises(datasets.DataError, match='no window of 7'):
    batches.Sampler(dataset, seed=0, window=7)


def test_actor_resamples_the_skill_every_window_and_after_reset():
  chosen, noises = [], []

  def choose(obs, noise):
    chosen.append(obs[0, 0])
    noises.append(noise)
    return np.full((1, LATENT), len(chosen), np.float32)

  actor = skills.ResamplingActor(choose, lambda obs, z: z[:, :1], window=4,
                                 noise=acting.LatentNoise(LATENT, sample=True))
  actor.reset([7])
  used = [int(actor(np.full((1, OBS), t, np.float32))[0, 0]) for t in range(10)]
  assert used == [1, 1, 1, 1, 2, 2, 2, 2, 3, 3]
  assert chosen == [0, 4, 8]  # z is chosen from the state at the window's start.
  assert not np.allclose(noises[0], noises[1])  # Sampled: a new draw at each choice.
  actor.reset([7])
  assert int(actor(np.zeros((1, OBS), np.float32))[0, 0]) == 4
  np.testing.assert_array_equal(noises[3], noises[0])  # The same seed, the same draws.


def test_run_episodes_resets_a_policy_once_with_each_rows_episode_seed():
  events = []

  class Policy:
    def reset(self, seeds):
      events.append(('reset', list(seeds)))

    def __call__(self, obs):
      events.append(('act', len(obs)))
      return np.zeros((len(obs), 3), np.float32)

  evaluation.run_episodes(Policy(), tasks.get_task('hopper'), num_episodes=2, seed=10)
  assert events[0] == ('reset', [10, 11])
  assert [e for e in events[1:] if e[0] == 'reset'] == []
  assert len(events) > 2 and all(e == ('act', 2) for e in events[1:])


def test_episodes_side_by_side_score_as_one_at_a_time():
  # Hopper falls at different steps for different seeds, so rows end at different times.
  task = tasks.get_task('hopper')
  calls = []

  def policy(obs):  # Row-wise, so a row's action does not depend on the batch.
    calls.append(len(obs))
    return np.tanh(obs[:, 2:5] * 3.0).astype(np.float32)

  together = evaluation.run_episodes(policy, task, num_episodes=3, seed=20)
  steps_together, alone, lengths = len(calls), [], []
  for i in range(3):
    calls.clear()
    alone.append(evaluation.run_episodes(policy, task, num_episodes=1, seed=20 + i)[0])
    lengths.append(len(calls))
  np.testing.assert_array_equal(together, alone)
  assert min(lengths) < max(lengths) == steps_together  # Rows ended at different steps.
  noise = acting.LatentNoise(LATENT, sample=True)
  noise.reset([3, 4])
  rows = np.concatenate([noise(2) for _ in range(5)], axis=1)
  for i, seed in enumerate([3, 4]):
    noise.reset([seed])
    np.testing.assert_array_equal(rows[i], np.concatenate([noise(1)[0] for _ in range(5)]))
