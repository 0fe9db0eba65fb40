"""BC's settings (TF-free), the original code's BC schedule among them."""

from __future__ import annotations

import dataclasses

from rl_repr_trail.core import settings
from rl_repr_trail.core.settings import setting


@dataclasses.dataclass
class BCConfig:
  learning_rate: float = settings.downstream_rate(1e-3)
  hidden: tuple[int, ...] = settings.hidden()
  decay_steps: tuple[int, ...] = setting(
      (180_000, 190_000), "BC: optimizer steps after which the rate (the policy's and the "
      "temperature's) drops 10x, each.", changeable=True)
  entropy_term: bool = settings.entropy_term()
