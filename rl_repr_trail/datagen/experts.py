"""Deterministic MLP policies stored as small .npz files, and the bundled experts.

A policy file holds the dense layers of a tanh-squashed Gaussian actor
(`kernel_i`, `bias_i`; ReLU between layers, the last layer gives means and
scales side by side) and the action bounds. Acting takes the squashed mean.
Inference is batched numpy: it serves evaluation during expert training and
vectorised data collection without building a TensorFlow graph.
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np

from rl_repr_trail.envs import tasks

POLICY_DIR = os.path.join(os.path.dirname(__file__), 'policies')
LEVELS = ('expert', 'medium')
# The normalized score a bundled expert is held to: 90 on the D4RL tasks (D4RL's expert
# policies score about 90-110), 80 on DM Control (score = return / 10).
EXPERT_SCORE = 90.0
DM_CONTROL_EXPERT_SCORE = 80.0


class MlpPolicy:
  """Deterministic policy: a = low + (tanh(mean(s)) + 1) / 2 * (high - low)."""

  def __init__(self, kernels: list[np.ndarray], biases: list[np.ndarray],
               action_low: np.ndarray, action_high: np.ndarray,
               metadata: dict | None = None):
    self.kernels = [np.asarray(k, np.float32) for k in kernels]
    self.biases = [np.asarray(b, np.float32) for b in biases]
    self.action_low = np.asarray(action_low, np.float32)
    self.action_high = np.asarray(action_high, np.float32)
    self.metadata = dict(metadata or {})

  @property
  def action_dim(self) -> int:
    return self.action_low.shape[0]

  @property
  def obs_dim(self) -> int:
    return self.kernels[0].shape[0]

  def _head(self, observations: np.ndarray) -> np.ndarray:
    h = np.asarray(observations, np.float32)
    for i, (kernel, bias) in enumerate(zip(self.kernels, self.biases)):
      h = h @ kernel + bias
      if i < len(self.kernels) - 1:
        np.maximum(h, 0.0, out=h)
    return h

  def _scale(self, pre_tanh: np.ndarray) -> np.ndarray:
    return self.action_low + (np.tanh(pre_tanh) + 1.0) * 0.5 * (self.action_high - self.action_low)

  def __call__(self, observations: np.ndarray) -> np.ndarray:
    """Deterministic actions for a batch [B, obs_dim]."""
    return self._scale(self._head(observations)[..., :self.action_dim])

  def sample(self, observations: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Actions drawn from the policy's own Gaussian (second output half: log std)."""
    head = self._head(observations)
    mean, log_std = head[..., :self.action_dim], head[..., self.action_dim:]
    noise = rng.standard_normal(mean.shape).astype(np.float32)
    return self._scale(mean + np.exp(np.clip(log_std, -20.0, 2.0)) * noise)

  def save(self, path: str) -> None:
    """Writes the policy atomically (a temporary file renamed into place)."""
    arrays = {f'kernel_{i}': k for i, k in enumerate(self.kernels)}
    arrays.update({f'bias_{i}': b for i, b in enumerate(self.biases)})
    tmp = path + '.tmp.npz'
    np.savez(tmp, action_low=self.action_low, action_high=self.action_high,
             metadata=np.array(json.dumps(self.metadata)), **arrays)
    os.replace(tmp, path)

  @classmethod
  def load(cls, path: str) -> 'MlpPolicy':
    if not os.path.exists(path):
      raise FileNotFoundError(f'Policy file {path} does not exist.')
    with np.load(path) as data:
      n = sum(1 for key in data.files if key.startswith('kernel_'))
      if n == 0 or 'action_low' not in data.files:
        raise ValueError(f'{path} is not a policy file: expected keys kernel_0.., '
                         f'bias_0.., action_low, action_high; found {data.files}.')
      return cls([data[f'kernel_{i}'] for i in range(n)],
                 [data[f'bias_{i}'] for i in range(n)],
                 data['action_low'], data['action_high'],
                 json.loads(str(data['metadata'])) if 'metadata' in data.files else {})


def bundled_policy_path(task_name: str, level: str) -> str:
  return os.path.join(POLICY_DIR, f'{task_name}_{level}.npz')


def available_policies() -> list[tuple[str, str]]:
  """(task, level) pairs whose policy ships with the package."""
  return [(t, lvl) for t in tasks.TASKS for lvl in LEVELS
          if os.path.exists(bundled_policy_path(t, lvl))]


def load_bundled(task_name: str, level: str) -> MlpPolicy:
  """Loads a bundled policy, or says which ones exist."""
  path = bundled_policy_path(task_name, level)
  if not os.path.exists(path):
    raise FileNotFoundError(
        f'No bundled {level} policy for {task_name!r} ({path}). '
        f'Bundled: {available_policies() or "none"}. Train one with '
        f'`python -m rl_repr_trail.collect train_expert --env={task_name}`.')
  return MlpPolicy.load(path)


def bundled_digest(task_name: str, level: str) -> str:
  """Short hash of a bundled policy file: generated data is cached under it."""
  path = bundled_policy_path(task_name, level)
  if not os.path.exists(path):
    load_bundled(task_name, level)  # Raises the error that lists what is bundled.
  with open(path, 'rb') as f:
    return hashlib.sha1(f.read()).hexdigest()[:8]


def expert_score(task_name: str) -> float:
  return DM_CONTROL_EXPERT_SCORE if task_name in tasks.DM_CONTROL else EXPERT_SCORE


def shortfall_note(task_name: str) -> str:
  """A warning when the bundled expert scores below expert_score(task) (its data, and the
  medium data picked at a third of its return, are then weaker than D4RL's), else ''."""
  score = load_bundled(task_name, 'expert').metadata.get('normalized_score_mean')
  if score is None or score >= expert_score(task_name):
    return ''
  return (f'Note: the bundled {task_name} expert scores {score:.1f} (normalized), below the '
          f'{expert_score(task_name):.0f} of an expert: its expert and medium data are weaker than '
          f'their names say. Train a better one with `python -m rl_repr_trail.collect train_expert '
          f'--env={task_name}`.')
