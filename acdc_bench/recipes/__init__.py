"""Training recipes by name (``recipe=``): one small module each, registered here.

A recipe supplies the optimizer, the learning rate per step, the trainable parameters per
epoch and early stopping (:class:`~acdc_bench.recipes.base.Recipe`); the trainer asks it and
never its name.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from acdc_bench import registry
from acdc_bench import validation as V
from acdc_bench.recipes.base import Recipe

# name -> "module:Class"; imported lazily.
RECIPES: dict[str, str] = {
    "ffcv": "acdc_bench.recipes.ffcv:FFCV",
    "dense_transfer": "acdc_bench.recipes.transfer:DenseTransfer",
    "gradual_unfreezing": "acdc_bench.recipes.transfer:GradualUnfreezing",
}


def recipe_class(name: str) -> type[Recipe]:
    """The recipe registered as ``name`` (ConfigError naming ``recipe.name`` otherwise)."""
    return registry.load(RECIPES, name, "recipe.name")

def build_recipe(cfg: Any, model: nn.Module, epochs: int, steps_per_epoch: int) -> Recipe:
    """``cfg.recipe`` over ``model`` (ConfigError for a bad name or field)."""
    name = V.string(cfg, "recipe.name", f"one of {sorted(RECIPES)}")
    return recipe_class(name)(cfg, model, epochs, steps_per_epoch)
