"""A method outside the package, as docs/usage.md "Adding a method" shows: 'action as
latent'. Its embedding is the action itself (z = a): pretraining fits the action decoder
pi(a | s, z), and latent BC then imitates z* = a* with pi_Z. It shows the contract, not a
useful method. Name it by its import path: --method=toy_method.METHOD."""

from rl_repr_trail.methods import registry
from rl_repr_trail.methods.latent_bc import config as latent_bc_config

from toy_method import config

METHOD = registry.Method(
    'action_latent', 'Action latent', 'other', embed_learner='action_latent',
    downstream='latent_bc', builder='toy_method.builder',
    downstream_config=latent_bc_config.LatentBCConfig, embedding_config=config.ToyConfig)
