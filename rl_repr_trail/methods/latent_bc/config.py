"""Latent BC's settings (TF-free), the downstream phase of TRAIL and of the skill methods."""

from __future__ import annotations

import dataclasses

from rl_repr_trail.core import settings
from rl_repr_trail.core.settings import setting

# How a latent policy acts: z sampled from pi_Z(s) at each choice (the original code's),
# or its mean (the paper's text).
LATENT_ACTIONS = ('sample', 'mean')


@dataclasses.dataclass
class LatentBCConfig:
  learning_rate: float = settings.downstream_rate(1e-4)
  hidden: tuple[int, ...] = settings.hidden()
  finetune_decoder: bool = setting(True, 'Fine-tune the action decoder on the expert data.')
  entropy_term: bool = settings.entropy_term()
  latent_action: str = setting('sample', "How latent BC acts: sample z from pi_Z(s) (the "
                               "original code) or take its mean (the paper's text).",
                               choices=LATENT_ACTIONS)
