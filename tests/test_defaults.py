"""The original rl_repr code's defaults (docs/reference.md, "The original code's
defaults"), one test per item."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from rl_repr_trail.core import optim
from rl_repr_trail.core import policies
from rl_repr_trail.core import settings
from rl_repr_trail.data import batches
from rl_repr_trail.data import datasets
from rl_repr_trail.datagen import sac
from rl_repr_trail.experiment import run_config
from rl_repr_trail.methods.bc import config as bc_config
from rl_repr_trail.methods.bc import learner as bc_learner
from rl_repr_trail.methods.latent_bc import config as latent_bc_config
from rl_repr_trail.methods.latent_bc import learner as latent_bc
from rl_repr_trail.methods.skills import config as skills_config
from rl_repr_trail.methods.skills import learner as skills
from rl_repr_trail.methods.trail import config as trail_config
from rl_repr_trail.methods.trail import learner as trail


OBS, ACT = 6, 2
LOW, HIGH = -np.ones(ACT, np.float32), np.array([1.0, 3.0], np.float32)


def _activations(model):
  return [layer.activation.__name__ for layer in model.layers]


def _assert_uniform_fan_in(layer, scale):
  """The kernel looks like U(-l, l), l = sqrt(3 scale / fan_in): bounded by l, reaching
  near it, with the uniform's std l / sqrt(3)."""
  kernel = layer.kernel.numpy()
  limit = np.sqrt(3 * scale / kernel.shape[0])
  assert np.abs(kernel).max() <= limit, (layer.name, np.abs(kernel).max(), limit)
  assert np.abs(kernel).max() > 0.9 * limit, (layer.name, np.abs(kernel).max(), limit)
  assert abs(kernel.std() - limit / np.sqrt(3)) < 0.1 * limit / np.sqrt(3), layer.name
  assert not np.any(layer.bias.numpy())


def test_networks_activations_and_initialisers():
  """phi, psi, pi_Z and the skill prior: swish; the policy trunks (TRAIL's decoder, BC's
  policy, the skill decoder): ReLU. Every kernel VarianceScaling(0.333, fan_in, uniform),
  the trunks' output layer VarianceScaling(0.01, ...)."""
  learner = trail.TrailLearner(OBS, LOW, HIGH, trail_config.TrailConfig())
  imitator = latent_bc.LatentBC(learner, OBS, ACT, latent_bc_config.LatentBCConfig())
  bc = bc_learner.BC(OBS, LOW, HIGH, bc_config.BCConfig())
  skill = skills.SkillLearner(OBS, LOW, HIGH, skills_config.SkillConfig())
  for net in (learner.phi, learner.psi):
    assert _activations(net) == ['swish', 'swish', 'linear'], net.name
    for layer in net.layers:
      _assert_uniform_fan_in(layer, 0.333)
  for latent_policy in (imitator.latent_policy, skill.prior):
    assert _activations(latent_policy.body) == ['swish', 'swish']
    for layer in latent_policy.body.layers + [latent_policy.mean_head,
                                              latent_policy.log_var_head]:
      _assert_uniform_fan_in(layer, 0.333)
  for policy in (learner.decoder, bc.policy, skill.decoder):
    assert _activations(policy.trunk) == ['relu', 'relu', 'linear'], policy.name
    for layer in policy.trunk.layers[:-1]:
      _assert_uniform_fan_in(layer, 0.333)
    _assert_uniform_fan_in(policy.trunk.layers[-1], 0.01)
  for layer in skill.encoder.step_mlp.layers:
    _assert_uniform_fan_in(layer, 0.333)


def test_sac_experts_keep_glorot_relu():
  learner = sac.SacLearner(OBS, LOW, HIGH, sac.SacConfig())
  critic = learner.critics[0]
  assert _activations(critic) == ['relu', 'relu', 'linear']
  kernel = critic.layers[0].kernel.numpy()
  limit = np.sqrt(6 / sum(kernel.shape))
  assert limit * 0.9 < np.abs(kernel).max() <= limit
  assert np.abs(learner.actor.trunk.layers[-1].kernel.numpy()).max() > 0.05  # Not near zero.


def test_latent_log_variance_floor_is_reached_and_held():
  """log-variance clipped to [-4, 15]: std never below exp(-2), however far the network
  pushes it, and training does not move it below."""
  policy = policies.GaussianLatentPolicy(OBS, 3, (16,))
  policy.log_var_head.bias.assign(-30.0 * np.ones(3, np.float32))
  obs = tf.constant(np.random.default_rng(0).normal(size=(64, OBS)).astype(np.float32))
  np.testing.assert_allclose(policy(obs).stddev().numpy(), np.exp(-2.0), rtol=1e-6)
  optimizer = optim.Adam(1e-2)
  for _ in range(20):  # Targets at the mean pull the variance down: it stays at the floor.
    with tf.GradientTape() as tape:
      distribution = policy(obs)
      loss = -tf.reduce_mean(distribution.log_prob(tf.stop_gradient(distribution.mean())))
    optimizer.apply_gradients(zip(tape.gradient(loss, policy.trainable_variables),
                                  policy.trainable_variables))
  np.testing.assert_allclose(policy(obs).stddev().numpy(), np.exp(-2.0), rtol=1e-6)
  policy.log_var_head.bias.assign(30.0 * np.ones(3, np.float32))
  np.testing.assert_allclose(policy(obs).stddev().numpy(), np.exp(7.5), rtol=1e-5)


def test_action_at_the_bound_has_the_likelihood_of_bound_minus_1e3():
  policy = policies.TanhGaussianPolicy(OBS, LOW, HIGH, (16,))
  inputs = tf.constant(np.random.default_rng(1).normal(size=(1, OBS)).astype(np.float32))
  distribution = policy(inputs)
  log_prob = lambda a: float(policy.log_prob(distribution, tf.constant([a], tf.float32))[0])
  assert log_prob([1.0, 3.0]) == log_prob([1.0 - 1e-3, 3.0 - 1e-3])
  assert log_prob([-1.0, -1.0]) == log_prob([-1.0 + 1e-3, -1.0 + 1e-3])
  assert log_prob([1.0 - 2e-3, 3.0 - 2e-3]) != log_prob([1.0 - 1e-3, 3.0 - 1e-3])


def _dataset(rows=512, seed=0):
  rng = np.random.default_rng(seed)
  timeouts = np.zeros(rows, bool)
  timeouts[99::100] = True
  return datasets.from_arrays(rng.normal(size=(rows, OBS)).astype(np.float32),
                              rng.uniform(-0.9, 0.9, (rows, ACT)).astype(np.float32),
                              np.zeros(rows, bool), timeouts)


def test_latent_bc_continues_pretrainings_temperature():
  """One log_alpha across both phases: latent BC starts at pretraining's value, trains
  that same variable (at its own rate), and its loss uses it."""
  dataset = _dataset()
  learner = trail.TrailLearner(OBS, LOW, HIGH, trail_config.TrailConfig(embed_dim=8, hidden=(16,)))
  learner.temperature.log_alpha.assign(-1.5)
  imitator = latent_bc.LatentBC(learner, OBS, ACT, latent_bc_config.LatentBCConfig(hidden=(16,)))
  assert imitator.temperature.log_alpha is learner.temperature.log_alpha
  assert float(imitator.temperature.alpha) == pytest.approx(np.exp(-1.5))
  rows = dataset.transition_rows()
  sampler = batches.Sampler(dataset, 1, imitator.targets(dataset.observations[rows],
                                                         dataset.actions[rows]))
  metrics = imitator.update(sampler.sample(64))
  np.testing.assert_allclose(
      float(metrics['loss']), float(metrics['latent_nll']) + float(metrics['action_nll'])
      - np.exp(-1.5) * float(metrics['entropy']), rtol=1e-4)
  moved = float(learner.temperature.log_alpha.numpy())
  assert moved != -1.5 and float(metrics['alpha']) == pytest.approx(np.exp(moved))
  assert [v.name for v in imitator.temperature.optimizer.variables if 'log_alpha' in v.name]


def test_latent_bc_samples_z_when_acting_unless_latent_action_mean():
  learner = trail.TrailLearner(OBS, LOW, HIGH, trail_config.TrailConfig(embed_dim=8, hidden=(16,)))
  obs = np.random.default_rng(2).normal(size=(1, OBS)).astype(np.float32)
  actors = {}
  for mode in latent_bc_config.LATENT_ACTIONS:
    imitator = latent_bc.LatentBC(learner, OBS, ACT, latent_bc_config.LatentBCConfig(
        hidden=(16,), latent_action=mode))
    # A wide pi_Z, so that sampled z moves the decoded action visibly.
    imitator.latent_policy.log_var_head.bias.assign(4.0 * np.ones(8, np.float32))
    actors[mode] = imitator.actor(OBS)
  sampled = actors['sample']
  sampled.reset([5])
  first, second = sampled(obs), sampled(obs)
  assert not np.allclose(first, second)
  sampled.reset([5])  # An evaluation's episode seed repeats its draws.
  np.testing.assert_array_equal(sampled(obs), first)
  mean = actors['mean']
  mean.reset([5])
  np.testing.assert_array_equal(mean(obs), mean(obs))


def test_bc_rate_drops_at_absolute_steps_180k_and_190k():
  """The rate of the update made after `step` optimizer steps, the policy's and the
  temperature's: 1e-3, 1e-4 after step 180,000, 1e-5 after 190,000 (Keras'
  PiecewiseConstantDecay, whatever the run's length)."""
  bc = bc_learner.BC(OBS, LOW, HIGH, bc_config.BCConfig(hidden=(8,)))
  expected = {0: 1e-3, 179_999: 1e-3, 180_000: 1e-3, 180_001: 1e-4, 190_000: 1e-4,
              190_001: 1e-5, 1_000_000: 1e-5}
  for optimizer, variables in ((bc.optimizer, bc.policy.trainable_variables),
                               (bc.temperature.optimizer, [bc.temperature.log_alpha])):
    for step, rate in expected.items():
      optimizer.iterations.assign(step)
      optimizer.apply_gradients([(tf.zeros_like(v), v) for v in variables])
      assert float(optimizer.learning_rate) == pytest.approx(rate), (step, rate)


def test_each_shared_default_is_written_once():
  """A learner's setting lives in its config class only (the run config holds those classes
  and repeats none of their fields), and a flag that several classes share has their common
  default, so changing a default in one place changes it everywhere (or fails here)."""
  learner_classes = (trail_config.TrailConfig, skills_config.SkillConfig,
                     latent_bc_config.LatentBCConfig, skills_config.SkillLatentBCConfig,
                     bc_config.BCConfig)
  run_fields = {settings.flag_name(f) for cls in (run_config.RunConfig, run_config.DataConfig,
                                                   run_config.Schedule)
                for f in dataclasses.fields(cls)}
  shared = 0
  for cls in learner_classes:
    for field in dataclasses.fields(cls):
      name = settings.flag_name(field)
      assert name not in run_fields, (cls.__name__, field.name)
      flag = run_config.all_flags().get(name)
      if flag is None:
        continue  # Fixed by each method (TRAIL's form, the skill encoder's input, SkiLD's prior).
      users = [c for c in learner_classes if name in {settings.flag_name(f)
                                                      for f in dataclasses.fields(c)}]
      defaults = {next(f.default for f in dataclasses.fields(c) if settings.flag_name(f) == name)
                  for c in users}
      assert flag.default == (field.default if len(defaults) == 1 else None), (cls, name)
      shared += len(users) > 1
  assert shared >= 8, shared
