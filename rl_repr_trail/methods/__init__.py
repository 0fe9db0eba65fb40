"""The methods, a package each (config.py, learner.py, builder.py), registered when
their package is imported: this imports every one (registry.py orders them)."""

import importlib
import pkgutil

for _package in pkgutil.iter_modules(__path__):
  if _package.ispkg:
    importlib.import_module(f'{__name__}.{_package.name}')
