"""TRAIL EBM and TRAIL linear: a transition-reparametrized action embedding pretrained on
the offline data, then latent BC on the expert data."""

from rl_repr_trail.methods import registry
from rl_repr_trail.methods.latent_bc import config as latent_bc_config
from rl_repr_trail.methods.trail import config

for _name, _label, _linear, _positive in (('trail_ebm', 'TRAIL EBM', False, ()),
                                          ('trail_linear', 'TRAIL linear', True,
                                           ('fourier_dim',))):
  registry.register(registry.Method(
      _name, _label, 'trail', embed_learner=_name, downstream='latent_bc',
      builder='rl_repr_trail.methods.trail.builder',
      downstream_config=latent_bc_config.LatentBCConfig, embedding_config=config.TrailConfig,
      embedding_preset={'linear': _linear}, positive=_positive))
