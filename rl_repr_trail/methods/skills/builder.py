"""The skill methods' learners from an environment spec and their configs."""

from __future__ import annotations

from rl_repr_trail.core import specs
from rl_repr_trail.methods.skills import config as skills_config
from rl_repr_trail.methods.skills import learner


def make_embedding(spec: specs.EnvSpec, config: skills_config.SkillConfig,
                   seed: int) -> learner.SkillLearner:
  return learner.SkillLearner(spec.obs_dim, spec.action_low, spec.action_high, config,
                              seed=seed)


def make_downstream(spec: specs.EnvSpec, config: skills_config.SkillLatentBCConfig,
                    embedding: learner.SkillLearner, seed: int) -> learner.SkillLatentBC:
  return learner.SkillLatentBC(embedding, spec.obs_dim, spec.action_dim, config, seed=seed)
