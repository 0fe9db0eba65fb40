"""Multilayer perceptrons shared by every learner."""

from __future__ import annotations

import math
from typing import Sequence

import tensorflow as tf


def mlp(input_dim: int, hidden: Sequence[int], output_dim: int, name: str) -> tf.keras.Sequential:
  """ReLU MLP with a linear output layer, built for inputs of width `input_dim`."""
  layers = [tf.keras.layers.Dense(units, activation='relu') for units in hidden]
  layers.append(tf.keras.layers.Dense(output_dim))
  model = tf.keras.Sequential(layers, name=name)
  model.build((None, input_dim))
  return model


def output_heads(input_dim: int, widths: Sequence[int], name: str) -> list[tf.keras.layers.Dense]:
  """Linear layers that together are one output layer of width sum(widths), split by
  columns: the same function, and the same initial distribution (Keras' Glorot uniform
  for the whole layer), with one product per head instead of one wide product."""
  limit = math.sqrt(6.0 / (input_dim + sum(widths)))
  heads = [tf.keras.layers.Dense(width, name=f'{name}_{i}',
                                 kernel_initializer=tf.keras.initializers.RandomUniform(
                                     -limit, limit)) for i, width in enumerate(widths)]
  for head in heads:
    head.build((None, input_dim))
  return heads
