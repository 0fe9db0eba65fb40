"""Its learners from an environment spec and its configs."""

from rl_repr_trail.core import specs
from rl_repr_trail.methods.latent_bc import learner as latent_bc

from toy_method import learner


def make_embedding(spec: specs.EnvSpec, config, seed: int) -> learner.ActionAsLatent:
  return learner.ActionAsLatent(spec.obs_dim, spec.action_low, spec.action_high,
                                config.hidden, config.learning_rate, seed)


def make_downstream(spec: specs.EnvSpec, config, embedding, seed: int) -> latent_bc.LatentBC:
  return latent_bc.LatentBC(embedding, spec.obs_dim, spec.action_dim, config, seed=seed)
