"""The methods' settings and their defaults, the original rl_repr code's: one dataclass per
learner, each field with its train_eval flag's help (core/settings.py). Plain data, without
TensorFlow, so that what reads a method's settings (the run config, the sweep, summaries)
starts fast.
"""

from __future__ import annotations

import dataclasses

from rl_repr_trail.core.settings import setting

HIDDEN = (256, 256)  # Hidden layers of every learner's MLPs (the paper's).
# How a latent policy acts: z sampled from pi_Z(s) at each choice (the original code's),
# or its mean (the paper's text).
LATENT_ACTIONS = ('sample', 'mean')
VARIANTS = ('opal', 'spirl', 'skild')

_HIDDEN_HELP = 'Hidden layer sizes of every MLP.'
_ENTROPY_HELP = ("Add the learned-temperature entropy term (target -|A|) to the losses of "
                 "TRAIL's action decoder (both phases), of BC's policy and of the opal and "
                 "spirl decoders downstream, as the paper and the original code. skild's "
                 'prior term stays.')
_EMBED_RATE_HELP = 'Pretraining Adam rate.'
_DOWNSTREAM_RATE_HELP = 'Downstream Adam rate.'


@dataclasses.dataclass
class TrailConfig:
  """Defaults from the paper's reference protocol (docs/reference.md, "Pretraining" and "TRAIL linear")."""

  embed_dim: int = setting(256, 'd: width of phi and psi.')
  # TRAIL linear (random Fourier features of phi) or TRAIL EBM; the method fixes it.
  linear: bool = setting(False, 'TRAIL linear rather than TRAIL EBM.')
  fourier_dim: int = setting(256, 'D: random features (trail_linear).')
  hidden: tuple[int, ...] = setting(HIDDEN, _HIDDEN_HELP)
  learning_rate: float = setting(3e-4, _EMBED_RATE_HELP, flag='embed_learning_rate',
                                 changeable=True)
  shuffle_prob: float = setting(0.1, 'Chance that a row of phi (or of psi) is replaced by '
                                'another in the contrastive loss.')
  moment_rate: float = setting(5e-4, "EMA rate of phi's running mean and variance "
                               '(trail_linear).')
  entropy_term: bool = setting(True, _ENTROPY_HELP)

  @property
  def latent_dim(self) -> int:
    return self.fourier_dim if self.linear else self.embed_dim


@dataclasses.dataclass
class SkillConfig:
  variant: str = setting('opal', 'Which skill method; the method fixes it.', choices=VARIANTS)
  window: int = setting(10, 't: steps per skill of opal, spirl and skild (pretraining and '
                        'acting).')
  latent_dim: int = setting(8, 'Width of z of opal, spirl and skild.', flag='skill_dim')
  hidden: tuple[int, ...] = setting(HIDDEN, _HIDDEN_HELP)
  encoder_units: int = setting(256, "Units of each direction of the skill encoder's LSTM.")
  kl_weight: float = setting(0.1, 'Weight of the skill posterior\'s KL term in pretraining.')
  learning_rate: float = setting(1e-4, _EMBED_RATE_HELP, flag='embed_learning_rate',
                                 changeable=True)


@dataclasses.dataclass
class LatentBCConfig:
  learning_rate: float = setting(1e-4, _DOWNSTREAM_RATE_HELP, flag='downstream_learning_rate',
                                 changeable=True)
  hidden: tuple[int, ...] = setting(HIDDEN, _HIDDEN_HELP)
  finetune_decoder: bool = setting(True, 'Fine-tune the action decoder on the expert data.')
  entropy_term: bool = setting(True, _ENTROPY_HELP)
  latent_action: str = setting('sample', "How latent BC acts: sample z from pi_Z(s) (the "
                               "original code) or take its mean (the paper's text).",
                               choices=LATENT_ACTIONS)


@dataclasses.dataclass
class BCConfig:
  learning_rate: float = setting(1e-3, _DOWNSTREAM_RATE_HELP, flag='downstream_learning_rate',
                                 changeable=True)
  hidden: tuple[int, ...] = setting(HIDDEN, _HIDDEN_HELP)
  decay_steps: tuple[int, ...] = setting(
      (180_000, 190_000), "BC: optimizer steps after which the rate (the policy's and the "
      "temperature's) drops 10x, each.", changeable=True)
  entropy_term: bool = setting(True, _ENTROPY_HELP)
