"""Its settings: each field a train_eval flag (shared by name with the other methods')."""

import dataclasses

from rl_repr_trail.core import settings
from rl_repr_trail.core.settings import setting


@dataclasses.dataclass
class ToyConfig:
  hidden: tuple[int, ...] = settings.hidden()
  learning_rate: float = setting(1e-3, 'Pretraining Adam rate.', flag='embed_learning_rate',
                                 changeable=True)
