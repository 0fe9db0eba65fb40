"""Each registered method's learners, built from a run's settings (the registry names
them; see registry.py). Imported when a run builds its learners."""

from __future__ import annotations

import numpy as np

from rl_repr_trail.data import batches
from rl_repr_trail.methods import behavioral_cloning
from rl_repr_trail.methods import latent_bc
from rl_repr_trail.methods import skills
from rl_repr_trail.methods import trail


def build_trail(config, task, low, high) -> trail.TrailLearner:
  """TRAIL EBM or TRAIL linear, as config.embedding (a TrailConfig) says."""
  return trail.TrailLearner(task.obs_dim, low, high, config.embedding, seed=config.seed)


def build_skills(config, task, low, high) -> skills.SkillLearner:
  return skills.SkillLearner(task.obs_dim, low, high, config.embedding, seed=config.seed)


def build_latent_bc(config, task, low, high, embedding, expert):
  """Latent BC on the frozen embedding, its sampler holding each expert transition's
  latent targets."""
  del low, high  # The decoder it fine-tunes knows the action bounds.
  learner = latent_bc.LatentBC(embedding, task.obs_dim, task.action_dim, config.downstream,
                               seed=config.seed)
  rows = expert.transition_rows()
  targets = learner.targets(expert.observations[rows], expert.actions[rows])
  return learner, batches.Sampler(expert, config.seed + 1, targets)


def build_skill_latent_bc(config, task, low, high, embedding, expert):
  """Latent BC over skills, its sampler holding each expert window's posterior."""
  del low, high
  learner = skills.SkillLatentBC(embedding, task.obs_dim, task.action_dim, config.downstream,
                                 seed=config.seed)
  window = config.embedding.window
  rows = expert.window_starts(window)[:, None] + np.arange(window)
  targets = learner.targets(expert.observations[rows], expert.actions[rows])
  return learner, batches.Sampler(expert, config.seed + 1, targets, window=window)


def build_bc(config, task, low, high, embedding, expert):
  del embedding
  learner = behavioral_cloning.BC(task.obs_dim, low, high, config.downstream, seed=config.seed)
  return learner, batches.Sampler(expert, config.seed + 1)
