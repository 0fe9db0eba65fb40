"""The losses and distributions against independent numpy computations."""

import numpy as np
import tensorflow as tf
import tf_keras

from rl_repr_trail.core import optim
from rl_repr_trail.core import policies
from rl_repr_trail.envs import tasks
from rl_repr_trail.methods.trail import learner as trail


def test_contrastive_loss_matches_numpy():
  rng = np.random.default_rng(0)
  phi = rng.normal(size=(7, 5)).astype(np.float32)
  psi = rng.normal(size=(7, 5)).astype(np.float32)
  energy = -np.sum((phi[:, None, :] - psi[None, :, :]) ** 2, axis=-1)
  m = energy.max(axis=1, keepdims=True)
  lse = (m + np.log(np.exp(energy - m).sum(axis=1, keepdims=True)))[:, 0]
  expected = -np.diag(energy) + lse
  got = trail.contrastive_loss(trail.energies(tf.constant(phi), tf.constant(psi))).numpy()
  np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(trail.energies(tf.constant(phi), tf.constant(psi)).numpy(),
                             energy, rtol=1e-4, atol=1e-4)


def test_random_fourier_features_approximate_gaussian_kernel():
  rng = np.random.default_rng(1)
  d, big_d = 4, 40_000
  x = rng.normal(size=(6, d)).astype(np.float32)
  omega = rng.standard_normal((big_d, d)).astype(np.float32)
  bias = rng.uniform(0, 2 * np.pi, big_d).astype(np.float32)
  z = trail.random_fourier_features(tf.constant(x), tf.constant(omega), tf.constant(bias)).numpy()
  approx = 2.0 / big_d * z @ z.T
  sq = np.sum((x[:, None] - x[None]) ** 2, axis=-1)
  exact = np.exp(-sq / (2 * d))
  np.testing.assert_allclose(approx, exact, atol=0.03)


def _numpy_tanh_gaussian_log_prob(actions, mean, std, low, high):
  center, half = (high + low) / 2, (high - low) / 2
  y = (actions - center) / half
  u = np.arctanh(y)
  log_normal = -0.5 * ((u - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)
  log_det = np.log(half * (1 - np.tanh(u) ** 2))
  return np.sum(log_normal - log_det, axis=-1)


def test_tanh_gaussian_log_prob_change_of_variables():
  rng = np.random.default_rng(2)
  low, high = np.array([-1.0, -2.0, 0.0], np.float32), np.array([1.0, 1.0, 3.0], np.float32)
  policy = policies.TanhGaussianPolicy(4, low, high, hidden=(16,))
  inputs = tf.constant(rng.normal(size=(5, 4)).astype(np.float32))
  distribution = policy(inputs)
  out = policy.trunk(inputs).numpy()
  mean, log_std = out[:, :3], np.clip(out[:, 3:], policies.LOG_STD_MIN, policies.LOG_STD_MAX)
  actions = rng.uniform(low * 0.9 + high * 0.1, high * 0.9 + low * 0.1, size=(5, 3)).astype(
      np.float32)
  expected = _numpy_tanh_gaussian_log_prob(actions.astype(np.float64), mean, np.exp(log_std),
                                           low, high)
  got = policy.log_prob(distribution, tf.constant(actions)).numpy()
  np.testing.assert_allclose(got, expected, rtol=1e-3, atol=1e-3)


def test_latent_policy_heads_are_one_output_layer():
  """pi_Z's mean and log-variance heads compute what one 2k-wide output layer with their
  kernels side by side computes (after the swish body), and start from that layer's
  VarianceScaling(0.333, fan_in, uniform) weights."""
  rng = np.random.default_rng(5)
  obs_dim, latent_dim, hidden = 7, 64, 32
  policy = policies.GaussianLatentPolicy(obs_dim, latent_dim, (hidden,))
  # Log-variances spread past the clip bounds, so that clipping is exercised.
  policy.log_var_head.bias.assign(rng.normal(0, 15, latent_dim).astype(np.float32))
  obs = rng.normal(size=(9, obs_dim)).astype(np.float32)
  z = rng.normal(size=(9, latent_dim)).astype(np.float32)
  (w1, b1), head_weights = policy.body.get_weights(), [
      policy.mean_head.get_weights(), policy.log_var_head.get_weights()]
  kernel = np.concatenate([w for w, _ in head_weights], axis=1).astype(np.float64)
  bias = np.concatenate([b for _, b in head_weights]).astype(np.float64)
  pre = obs @ w1 + b1
  params = pre / (1.0 + np.exp(-pre)) @ kernel + bias
  mean, log_var = params[:, :latent_dim], np.clip(
      params[:, latent_dim:], policies.LOG_VAR_MIN, policies.LOG_VAR_MAX)
  expected = -0.5 * np.sum((z - mean) ** 2 / np.exp(log_var) + log_var + np.log(2 * np.pi), -1)
  np.testing.assert_allclose(policy(obs).log_prob(z).numpy(), expected, rtol=1e-4)
  # VarianceScaling(0.333, fan_in, uniform) for a hidden x 2k layer: U(-limit, limit).
  limit = np.sqrt(3 * 0.333 / hidden)
  fresh = policies.GaussianLatentPolicy(obs_dim, latent_dim, (hidden,))
  weights = np.concatenate([fresh.mean_head.kernel.numpy(), fresh.log_var_head.kernel.numpy()])
  assert np.abs(weights).max() <= limit and np.abs(weights).max() > 0.95 * limit
  assert abs(weights.std() - limit / np.sqrt(3)) < 0.05 * limit / np.sqrt(3)


def test_tanh_gaussian_log_prob_finite_at_bounds_and_mode_inside():
  low, high = -np.ones(2, np.float32), np.ones(2, np.float32)
  policy = policies.TanhGaussianPolicy(3, low, high, hidden=(8,))
  inputs = tf.ones([3, 3])
  at_bounds = tf.constant([[1.0, -1.0], [-1.0, -1.0], [1.0, 1.0]])
  log_prob = policy.log_prob(policy(inputs), at_bounds).numpy()
  assert np.all(np.isfinite(log_prob)), log_prob
  mode = policy.mode(inputs).numpy()
  assert np.all(mode > low) and np.all(mode < high)


def test_normalized_score():
  task = tasks.get_task('hopper')
  assert tasks.normalized_score(task, task.ref_min_score) == 0.0
  assert abs(tasks.normalized_score(task, task.ref_max_score) - 100.0) < 1e-9
  mid = (task.ref_min_score + task.ref_max_score) / 2
  assert abs(tasks.normalized_score(task, mid) - 50.0) < 1e-9
  ant = tasks.get_task('ant')
  assert abs(tasks.normalized_score(ant, 1777.05) - 50.0) < 1e-3


def test_fused_adam_matches_keras_adam():
  """optim.Adam's fused kernel makes the same updates as Keras Adam, with a schedule
  too, and keeps the same slots (so checkpoints carry over)."""
  rng = np.random.default_rng(0)
  init = rng.normal(size=(5, 3)).astype(np.float32)
  grads = rng.normal(size=(6, 5, 3)).astype(np.float32)
  schedule = tf_keras.optimizers.schedules.PiecewiseConstantDecay([3], [1e-2, 1e-3])
  results = []
  for optimizer in (tf_keras.optimizers.Adam(schedule), optim.Adam(schedule)):
    var = tf.Variable(init)
    optimizer.build([var])
    for g in grads:
      optimizer.apply_gradients([(tf.constant(g), var)])
    results.append((var.numpy(), [v.numpy() for v in optimizer.variables]))
  (keras_var, keras_slots), (fused_var, fused_slots) = results
  assert not np.allclose(keras_var, init)
  np.testing.assert_allclose(fused_var, keras_var, rtol=1e-5, atol=1e-6)
  assert len(fused_slots) == len(keras_slots)
  for fused, keras in zip(fused_slots, keras_slots):
    np.testing.assert_allclose(fused, keras, rtol=1e-5, atol=1e-7)
