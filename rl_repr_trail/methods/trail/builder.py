"""TRAIL's learners from an environment spec and their configs."""

from __future__ import annotations

from rl_repr_trail.core import specs
from rl_repr_trail.methods.latent_bc import config as latent_bc_config
from rl_repr_trail.methods.latent_bc import learner as latent_bc
from rl_repr_trail.methods.trail import config as trail_config
from rl_repr_trail.methods.trail import learner


def make_embedding(spec: specs.EnvSpec, config: trail_config.TrailConfig,
                   seed: int) -> learner.TrailLearner:
  """TRAIL EBM or TRAIL linear, as config.linear says."""
  return learner.TrailLearner(spec.obs_dim, spec.action_low, spec.action_high, config,
                              seed=seed)


def make_downstream(spec: specs.EnvSpec, config: latent_bc_config.LatentBCConfig,
                    embedding: latent_bc.LatentEmbedding, seed: int) -> latent_bc.LatentBC:
  """Latent BC on the frozen embedding (its decoder knows the action bounds)."""
  return latent_bc.LatentBC(embedding, spec.obs_dim, spec.action_dim, config, seed=seed)
