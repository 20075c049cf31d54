"""The JAX trainer: recipe -> dataset -> network family -> population training -> table.

One engine (:mod:`nasbench.train.engine`: compile cache, program builder, epoch loop)
trains every trainable space's network family (:mod:`nasbench.train.families`: NB201
cells, MLPs). JAX is imported only when training starts.
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
