"""TRAIL's pretraining settings (TF-free: the registry and the flags read them)."""

from __future__ import annotations

import dataclasses

from rl_repr_trail.core import settings
from rl_repr_trail.core.settings import setting


@dataclasses.dataclass
class TrailConfig:
  """Defaults from the paper's reference protocol (docs/reference.md, "Pretraining" and
  "TRAIL linear")."""

  embed_dim: int = setting(256, 'd: width of phi and psi.')
  # TRAIL linear (random Fourier features of phi) or TRAIL EBM; the method fixes it.
  linear: bool = setting(False, 'TRAIL linear rather than TRAIL EBM.')
  fourier_dim: int = setting(256, 'D: random features (trail_linear).')
  hidden: tuple[int, ...] = settings.hidden()
  learning_rate: float = settings.embed_rate(3e-4)
  shuffle_prob: float = setting(0.1, 'Chance that a row of phi (or of psi) is replaced by '
                                'another in the contrastive loss.')
  moment_rate: float = setting(5e-4, "EMA rate of phi's running mean and variance "
                               '(trail_linear).')
  entropy_term: bool = settings.entropy_term()

  @property
  def latent_dim(self) -> int:
    return self.fourier_dim if self.linear else self.embed_dim
