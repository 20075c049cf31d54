"""The JAX trainer: recipe -> dataset -> NB201 network -> population training -> table.

JAX is imported only when training starts (nasbench.train.population).
"""

from __future__ import annotations

from nasbench.train.build import BuildConfig, build_table
from nasbench.train.data import Dataset, load_dataset
from nasbench.train.informativeness import informativeness
from nasbench.train.recipe import PRESETS, Recipe, resolve_recipe

__all__ = [
    "BuildConfig",
    "Dataset",
    "PRESETS",
    "Recipe",
    "build_table",
    "informativeness",
    "load_dataset",
    "resolve_recipe",
]
