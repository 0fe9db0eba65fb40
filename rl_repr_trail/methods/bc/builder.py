"""BC's learner from an environment spec and its config."""

from __future__ import annotations

from rl_repr_trail.core import specs
from rl_repr_trail.methods.bc import config as bc_config
from rl_repr_trail.methods.bc import learner


def make_downstream(spec: specs.EnvSpec, config: bc_config.BCConfig, embedding: None,
                    seed: int) -> learner.BC:
  del embedding  # BC does not pretrain.
  return learner.BC(spec.obs_dim, spec.action_low, spec.action_high, config, seed=seed)
