"""The skill methods' settings (TF-free). OPAL, SPiRL and SkiLD differ only in two fields
that each method fixes: what the encoder sees (SPiRL: the actions alone) and the
downstream regulariser (SkiLD: the prior term instead of the entropy term)."""

from __future__ import annotations

import dataclasses

from rl_repr_trail.core import settings
from rl_repr_trail.core.settings import setting
from rl_repr_trail.methods.latent_bc import config as latent_bc_config

ENCODER_INPUTS = ('transitions', 'actions')


@dataclasses.dataclass
class SkillConfig:
  encoder_input: str = setting('transitions', "What the skill encoder reads of each step: "
                               "observation and action, or the action alone (SPiRL); the "
                               'method fixes it.', choices=ENCODER_INPUTS)
  window: int = setting(10, 't: steps per skill of opal, spirl and skild (pretraining and '
                        'acting).')
  latent_dim: int = setting(8, 'Width of z of opal, spirl and skild.', flag='skill_dim')
  hidden: tuple[int, ...] = settings.hidden()
  encoder_units: int = setting(256, "Units of each direction of the skill encoder's LSTM.")
  kl_weight: float = setting(0.1, 'Weight of the skill posterior\'s KL term in pretraining.')
  learning_rate: float = settings.embed_rate(1e-4)


@dataclasses.dataclass
class SkillLatentBCConfig(latent_bc_config.LatentBCConfig):
  prior_term: bool = setting(False, "Regularise pi_Z with alpha KL(pi_Z || the skill prior) "
                             "instead of the decoder's entropy term (SkiLD); the method "
                             'fixes it.')
