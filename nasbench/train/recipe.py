"""The training recipe: one frozen, hashable config recorded in every table it builds.

Presets:
    ``digits``: the recipe of the shipped digits table. Reduction blocks are 2x2 average
        pooling plus a ReLU-Conv1x1-BN instead of NAS-Bench-201's residual 3x3 blocks:
        on 8x8 images the two residual blocks hold most of the network's capacity, so
        every cell trains to roughly the same accuracy and seed noise dominates the
        ranking. With the pooling blocks the cell carries the features and cell
        structure dominates (see ``benchmarks/TRAINING.md`` for the measured figures).
    ``nb201``: NAS-Bench-201's network (residual reduction blocks, 5 cells per stage,
        16/32/64 channels) and optimiser; the default for user datasets.
    ``mlp-digits``: the MLP space's recipe on digits (``nasbench build --space mlp``).
    ``mlp-tabular``: declared MLP spaces on any other data (tabular sets above all).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasbench.core.config import build_config, coerce_fields, parse_value, read_config_file
from nasbench.core.errors import ConfigError

REDUCTIONS = ("residual", "pool")
SCHEDULES = ("cosine", "constant")
AUGMENTATIONS = ("none", "crop", "crop_flip")


@dataclass(frozen=True)
class Recipe:
    """How every architecture in a table is trained.

    Attributes:
        channels: channels of the three stages.
        cells_per_stage: cells stacked in each stage.
        reduction: ``residual`` (NAS-Bench-201's basic block, stride-2 3x3 convolutions
            plus an avg-pool/1x1 shortcut) or ``pool`` (2x2 average pooling followed by
            ReLU-Conv1x1-BN).
        epochs: training epochs.
        batch_size: training batch size (each epoch drops the incomplete last batch).
        lr: peak learning rate.
        momentum: SGD momentum.
        nesterov: Nesterov momentum.
        weight_decay: decoupled-from-loss L2 added to the gradient (``optax.add_decayed_weights``).
        schedule: ``cosine`` (decay to 0 over all steps) or ``constant``.
        warmup_epochs: linear warm-up epochs before the schedule.
        n_train, n_valid, n_test: split sizes (``None``: everything available).
        split_seed: seed of the deterministic train/valid/test split.
        augmentation: ``none``, ``crop`` (pad 1/8 and random crop) or ``crop_flip``.
        bn_momentum: running-average momentum of batch norm (evaluation statistics).
        eval_batch_size: batch size of evaluation.
        label_smoothing: cross-entropy label smoothing.
        test_every_epoch: evaluate the test split after every epoch (else the last only).
    """

    channels: tuple[int, int, int] = (16, 32, 64)
    cells_per_stage: int = 5
    reduction: str = "residual"
    epochs: int = 200
    batch_size: int = 256
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    warmup_epochs: int = 0
    n_train: int | None = None
    n_valid: int | None = None
    n_test: int | None = None
    split_seed: int = 0
    augmentation: str = "crop_flip"
    bn_momentum: float = 0.9
    eval_batch_size: int = 512
    label_smoothing: float = 0.0
    test_every_epoch: bool = False

    def __post_init__(self) -> None:
        ch = tuple(self.channels) if isinstance(self.channels, (list, tuple)) else ()
        if len(ch) != 3 or not all(
            isinstance(c, numbers.Integral) and not isinstance(c, bool) and c >= 1 for c in ch
        ):
            raise ConfigError(f"channels must be three positive integers, got {self.channels!r}")
        coerce_fields(self, who="recipe field")
        checks = [
            (self.cells_per_stage >= 1, "cells_per_stage must be >= 1"),
            (self.reduction in REDUCTIONS, f"reduction must be one of {', '.join(REDUCTIONS)}"),
            (self.epochs >= 1, "epochs must be >= 1"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.lr > 0, "lr must be positive"),
            (0 <= self.momentum < 1, "momentum must be in [0, 1)"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (self.schedule in SCHEDULES, f"schedule must be one of {', '.join(SCHEDULES)}"),
            (0 <= self.warmup_epochs < self.epochs, "warmup_epochs must be in [0, epochs)"),
            (self.augmentation in AUGMENTATIONS, f"augmentation must be one of {', '.join(AUGMENTATIONS)}"),
            (0 <= self.bn_momentum < 1, "bn_momentum must be in [0, 1)"),
            (self.eval_batch_size >= 1, "eval_batch_size must be >= 1"),
            (0 <= self.label_smoothing < 1, "label_smoothing must be in [0, 1)"),
        ]
        for n in ("n_train", "n_valid", "n_test"):
            v = getattr(self, n)
            checks.append((v is None or v >= 1, f"{n} must be >= 1"))
        for ok, msg in checks:
            if not ok:
                raise ConfigError(f"recipe: {msg}")

    # ---- serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, text: bool = False) -> Recipe:
        """Build a recipe from a mapping (unknown keys are an error).

        Args:
            data: field values, e.g. a JSON recipe file.
            text: the values came from the command line (``--set nesterov=no``).

        Raises:
            ConfigError: not a mapping, an unknown field, a wrong type or a bad value.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"a recipe is a JSON object of fields, got {type(data).__name__}")
        return build_config(cls, data, who="recipe", noun="field", text=text)

    def replace(self, **changes: Any) -> Recipe:
        return Recipe.from_dict({**self.to_dict(), **changes})

    def content_hash(self) -> str:
        """sha256 of the canonical JSON (what ``--resume`` compares)."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


PRESETS: dict[str, Recipe] = {
    "nb201": Recipe(),
    "digits": Recipe(
        channels=(16, 32, 64),
        cells_per_stage=1,
        reduction="pool",
        epochs=6,
        batch_size=64,
        lr=0.05,
        weight_decay=5e-4,
        n_train=500,
        n_valid=650,
        n_test=647,
        augmentation="none",
        eval_batch_size=325,
    ),
}
#: The MLP space on digits: the digits splits and batches with a longer, faster schedule
#: (MLPs on 500 flattened 8x8 images underfit in 6 epochs); the network fields above do not
#: apply to MLPs. Chosen on a sample of the space, see ``benchmarks/TRAINING.md``.
PRESETS["mlp-digits"] = PRESETS["digits"].replace(epochs=12)
#: Declared MLP spaces on tabular data (``csv:``, ``sklearn:``, tabular ``npz:``): the
#: dataset's own splits (60/20/20 of one table), no augmentation, small batches for a few
#: hundred rows, 10 epochs; a space's declared learning rate, weight decay, schedule and
#: batch size replace these per member. 10 epochs rather than 20: on 150-configuration
#: samples of ``data/mlp-tabular.toml`` the seed-to-seed Spearman rose from 0.52 to 0.79
#: (breast_cancer) and 0.75 to 0.76 (diabetes), valid-to-test from 0.65 to 0.83 and 0.66
#: to 0.79 (``benchmarks/TRAINING.md``, "Tabular tables"); longer, most networks reach
#: the same accuracy and seed noise orders them.
PRESETS["mlp-tabular"] = PRESETS["digits"].replace(
    epochs=10, batch_size=32, lr=0.05, n_train=None, n_valid=None, n_test=None, eval_batch_size=512
)


def resolve_recipe(name_or_path: str, overrides: Mapping[str, Any] | None = None) -> Recipe:
    """A preset name or a JSON file, then command-line overrides (from
    :func:`nasbench.core.config.parse_assignments`, or strings, read the same way).

    Raises:
        ConfigError: unknown preset, unreadable file, unknown field or bad value.
    """
    if name_or_path in PRESETS:
        recipe = PRESETS[name_or_path]
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise ConfigError(
                f"unknown recipe {name_or_path!r}: not a preset ({', '.join(PRESETS)}) nor a JSON file"
            )
        recipe = Recipe.from_dict(read_config_file(path, what="recipe"))
    if overrides:
        changes = {k: parse_value(str(v)) if isinstance(v, str) else v for k, v in overrides.items()}
        recipe = Recipe.from_dict({**recipe.to_dict(), **changes}, text=True)
    return recipe
