"""What a method's builders see of an environment: observation size and action bounds."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class EnvSpec:
  obs_dim: int
  action_low: np.ndarray
  action_high: np.ndarray

  @property
  def action_dim(self) -> int:
    return len(self.action_low)

  @classmethod
  def from_json(cls, saved: dict) -> 'EnvSpec':
    """From a run's spec.json (obs_dim, action_low, action_high)."""
    return cls(int(saved['obs_dim']), np.asarray(saved['action_low'], np.float32),
               np.asarray(saved['action_high'], np.float32))
