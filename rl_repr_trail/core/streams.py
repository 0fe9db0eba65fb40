"""Each consumer's random stream, derived from a seed in one place.

`seed(base, NAME, index)` is base * scale + offset + index and `generator(base, NAME,
index)` a numpy Generator seeded [base, offset + index], with NAME's scale and offset
below. A new consumer gets a row here, not an offset of its own. The rows keep the values
the project has always used, so seeded runs and generated files stay as they were.
"""

from __future__ import annotations

import numpy as np

# name: (scale, offset, what index is)
SEEDS = {
    'pretrain batches': (1, 0, 'unused'),
    'expert batches': (1, 1, 'unused'),
    'evaluation': (1000, 0, 'the step evaluated; episode i resets with seed + i'),
    'generated shard': (1000, 0, 'the shard'),
    'generated second half': (1, 1, "unused (medium-expert's expert half)"),
    'environment reset': (10_007, 0, "the reset's number (an environment of a pool, a "
                          "regenerated stretch's first step)"),
    'sac collector': (1, 0, 'the step a SAC run starts or resumes from'),
}
GENERATORS = {
    'policy actions': (1, 'unused (a generated shard\'s bundled-policy samples)'),
    'replay actions': (0, "the regenerated stretch's first step"),
}


def seed(base: int, name: str, index: int = 0) -> int:
  scale, offset, _ = SEEDS[name]
  return base * scale + offset + index


def generator(base: int, name: str, index: int = 0) -> np.random.Generator:
  offset, _ = GENERATORS[name]
  return np.random.default_rng([base, offset + index])
