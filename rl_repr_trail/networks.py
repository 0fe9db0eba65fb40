"""Multilayer perceptrons shared by every learner."""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf


def mlp(input_dim: int, hidden: Sequence[int], output_dim: int, name: str) -> tf.keras.Sequential:
  """ReLU MLP with a linear output layer, built for inputs of width `input_dim`."""
  layers = [tf.keras.layers.Dense(units, activation='relu') for units in hidden]
  layers.append(tf.keras.layers.Dense(output_dim))
  model = tf.keras.Sequential(layers, name=name)
  model.build((None, input_dim))
  return model
