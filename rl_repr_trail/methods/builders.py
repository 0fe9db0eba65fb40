"""Each registered method's learners, built from a run's settings (the registry names
them; see registry.py). Imported when a run builds its learners."""

from __future__ import annotations

import numpy as np

from rl_repr_trail.data import batches
from rl_repr_trail.methods import behavioral_cloning
from rl_repr_trail.methods import latent_bc
from rl_repr_trail.methods import method_configs
from rl_repr_trail.methods import skills
from rl_repr_trail.methods import trail


def _rate(given: float | None, config_class: type) -> float:
  return given or config_class.learning_rate


def build_trail(config, task, low, high, fourier: bool) -> trail.TrailLearner:
  """TRAIL EBM, or with `fourier` TRAIL linear (D = config.fourier_dim)."""
  return trail.TrailLearner(task.obs_dim, low, high, method_configs.TrailConfig(
      embed_dim=config.embed_dim, hidden=config.hidden,
      learning_rate=_rate(config.embed_learning_rate, method_configs.TrailConfig),
      fourier_dim=config.fourier_dim if fourier else 0, entropy_term=config.entropy_term),
      seed=config.seed)


def build_skills(config, task, low, high, variant: str) -> skills.SkillLearner:
  return skills.SkillLearner(task.obs_dim, low, high, method_configs.SkillConfig(
      variant=variant, window=config.window, latent_dim=config.skill_dim,
      hidden=config.hidden,
      learning_rate=_rate(config.embed_learning_rate, method_configs.SkillConfig)),
      seed=config.seed)


def _latent_bc_config(config) -> method_configs.LatentBCConfig:
  return method_configs.LatentBCConfig(
      learning_rate=_rate(config.downstream_learning_rate, method_configs.LatentBCConfig),
      hidden=config.hidden, finetune_decoder=config.finetune_decoder,
      entropy_term=config.entropy_term, latent_action=config.latent_action)


def build_latent_bc(config, task, low, high, embedding, expert):
  """Latent BC on the frozen embedding, its sampler holding each expert transition's
  latent targets."""
  del low, high  # The decoder it fine-tunes knows the action bounds.
  learner = latent_bc.LatentBC(embedding, task.obs_dim, task.action_dim,
                               _latent_bc_config(config), seed=config.seed)
  rows = expert.transition_rows()
  targets = learner.targets(expert.observations[rows], expert.actions[rows])
  return learner, batches.Sampler(expert, config.seed + 1, targets)


def build_skill_latent_bc(config, task, low, high, embedding, expert):
  """Latent BC over skills, its sampler holding each expert window's posterior."""
  del low, high
  learner = skills.SkillLatentBC(embedding, task.obs_dim, task.action_dim,
                                 _latent_bc_config(config), seed=config.seed)
  rows = expert.window_starts(config.window)[:, None] + np.arange(config.window)
  targets = learner.targets(expert.observations[rows], expert.actions[rows])
  return learner, batches.Sampler(expert, config.seed + 1, targets, window=config.window)


def build_bc(config, task, low, high, embedding, expert):
  del embedding
  learner = behavioral_cloning.BC(task.obs_dim, low, high, method_configs.BCConfig(
      learning_rate=_rate(config.downstream_learning_rate, method_configs.BCConfig),
      hidden=config.hidden, entropy_term=config.entropy_term), seed=config.seed)
  return learner, batches.Sampler(expert, config.seed + 1)


