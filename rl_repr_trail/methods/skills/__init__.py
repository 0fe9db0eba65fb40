"""OPAL, SPiRL and SkiLD: temporal skills pretrained on offline windows, then latent BC
over skills; they differ in two fixed config fields (config.py)."""

from rl_repr_trail.methods import registry
from rl_repr_trail.methods.skills import config

for _name, _label, _encoder_input, _prior_term in (
    ('opal', 'OPAL', 'transitions', False), ('spirl', 'SPiRL', 'actions', False),
    ('skild', 'SkiLD', 'transitions', True)):
  registry.register(registry.Method(
      _name, _label, 'skill', embed_learner=_name, downstream='latent_bc',
      builder='rl_repr_trail.methods.skills.builder',
      downstream_config=config.SkillLatentBCConfig, embedding_config=config.SkillConfig,
      embedding_preset={'encoder_input': _encoder_input},
      downstream_preset={'prior_term': _prior_term}, windowed=True,
      positive=('window', 'skill_dim')))
