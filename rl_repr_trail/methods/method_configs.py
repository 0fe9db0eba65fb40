"""The methods' settings and their defaults, the original rl_repr code's: one dataclass per
learner. Plain data, without TensorFlow, so that what reads a method's settings (the run
config, the sweep, summaries) starts fast.
"""

from __future__ import annotations

import dataclasses

HIDDEN = (256, 256)  # Hidden layers of every learner's MLPs (the paper's).
# How a latent policy acts: z sampled from pi_Z(s) at each choice (the original code's),
# or its mean (the paper's text).
LATENT_ACTIONS = ('sample', 'mean')


@dataclasses.dataclass
class TrailConfig:
  """Defaults from the paper's reference protocol (TRAIL.md sections 2 and 3)."""

  embed_dim: int = 256            # d, the width of phi and psi.
  fourier_dim: int = 0            # D; 0 selects TRAIL EBM, > 0 TRAIL linear.
  hidden: tuple[int, ...] = HIDDEN
  learning_rate: float = 3e-4
  shuffle_prob: float = 0.1       # Chance that a row of phi (or of psi) is replaced.
  moment_rate: float = 5e-4       # EMA rate of phi's running mean and variance.
  entropy_term: bool = True       # The decoder's learned-temperature entropy term.


VARIANTS = ('opal', 'spirl', 'skild')


@dataclasses.dataclass
class SkillConfig:
  variant: str = 'opal'
  window: int = 10                 # t, steps per skill.
  latent_dim: int = 8              # Width of z.
  hidden: tuple[int, ...] = HIDDEN
  encoder_units: int = 256         # Units of each direction of the encoder's LSTM.
  kl_weight: float = 0.1
  learning_rate: float = 1e-4


@dataclasses.dataclass
class LatentBCConfig:
  learning_rate: float = 1e-4
  hidden: tuple[int, ...] = HIDDEN
  finetune_decoder: bool = True
  entropy_term: bool = True
  latent_action: str = 'sample'


@dataclasses.dataclass
class BCConfig:
  learning_rate: float = 1e-3
  hidden: tuple[int, ...] = HIDDEN
  # The rate (the policy's and the temperature's) drops 10x after these optimizer steps.
  decay_steps: tuple[int, int] = (180_000, 190_000)
  entropy_term: bool = True
