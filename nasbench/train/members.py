"""The family-agnostic training entry point: members of any trainable space, trained in
compiled populations on cached trainers.

:func:`train_members` is what a search backend calls: it takes members ``(arch, seed,
start_epoch, epochs, start_state, schedule_epochs)`` of any space with a network family
(:mod:`nasbench.train.families`), lets the family split them into populations and trains
each on the family's trainer, cached process-wide (:func:`cached_trainer`, on
:func:`nasbench.train.engine.cached`). :func:`train_group` trains one given population
(what ``nasbench build`` and its Ray tasks call per shard).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from nasbench.train.families import family_of, resolve_trainable_space
from nasbench.train.recipe import Recipe


def cached_trainer(
    recipe: Recipe,
    dataset: Any,
    capacities: dict[str, int],
    population: int,
    mode: str,
    device: Any = None,
    *,
    space: Any = None,
) -> Any:
    """The trainer of ``space``'s network family, cached process-wide
    (:func:`nasbench.train.engine.cached`: a Ray worker or a live search compiles once
    for many populations).

    Args:
        capacities: the family's population layout (NB201 slot capacities; ``{}``).
        mode: ``population`` or ``single``, optionally with the family's
            :attr:`~nasbench.train.families.NetworkFamily.mode_prefix` (as build plans
            record it, e.g. ``mlp-population``).
        space: the trainable space (default: NB201 cells).
    """
    from nasbench.train.engine import cached

    space = space if space is not None else resolve_trainable_space("nb201")
    family = family_of(space)
    mode = mode.removeprefix(family.mode_prefix)
    key = ("trainer", family.key, space, recipe, dataset.fingerprint, tuple(sorted(capacities.items())),
           population, mode, str(device))  # fmt: skip
    return cached(
        key, lambda: family.trainer(recipe, dataset, population, layout=capacities, mode=mode, device=device)
    )


def train_group(
    recipe: Recipe,
    dataset: Any,
    capacities: dict[str, int],
    population: int,
    mode: str,
    arch: np.ndarray,
    seed: np.ndarray,
    ops: np.ndarray,
    device: Any = None,
    *,
    space: Any = None,
    **train_kwargs: Any,
) -> Any:
    """Train one population on a cached trainer (:func:`cached_trainer`); ``train_kwargs``
    continue members (``start_epoch``, ``start_state``, ``epochs``, ``schedule_epochs``,
    ``keep_state``). ``space`` defaults to NB201 cells; any trainable space works."""
    tr = cached_trainer(recipe, dataset, capacities, population, mode, device, space=space)
    c0 = tr.compile_s
    res = tr.train(arch, seed, ops, **train_kwargs)
    res.timing["compile_s"] = tr.compile_s - c0
    return res


class Member(NamedTuple):
    """One member to train: :func:`train_members` takes a sequence of them.

    Attributes:
        arch: the architecture's space index.
        seed: the run's seed (non-negative).
        start_epoch: epochs it has trained already (0: a fresh run).
        epochs: epochs to train now.
        start_state: a flat ``{path: array}`` member state to start from (a checkpoint
            from ``keep_state=True``, or the family's ``inherit`` of a parent's), or
            ``None`` for a fresh initialisation.
        schedule_epochs: the length of its learning-rate schedule (``None``: the recipe's
            epochs).
    """

    arch: int
    seed: int
    start_epoch: int = 0
    epochs: int | None = None
    start_state: Mapping[str, np.ndarray] | None = None
    schedule_epochs: int | None = None


def train_members(
    space: Any,
    recipe: Recipe,
    dataset: Any,
    members: Sequence[Member | tuple[Any, ...]],
    *,
    population: int,
    keep_state: bool = False,
    layout: Mapping[str, int] | None = None,
    device: Any = None,
) -> Any:
    """Train members of any trainable space, in as few compiled populations as possible.

    The space's network family (:func:`nasbench.train.families.family_of`) decides how
    members go into populations (NB201: slot capacities; MLP: padded chunks). Members
    with the same schedule length train together, whatever epoch each starts from and
    however many epochs each trains: new runs and continuations from checkpoints share one
    program (each member has its own epoch, data order and optimiser step count), a member
    that trains fewer epochs than the others keeps its curve and state from its own last
    epoch, and a continued member's curve is bit-identical to training it straight
    through. One population of mixed epoch counts costs its longest member's epochs in
    every slot, where populations per epoch count would each pad to the full population.

    Args:
        space: a trainable space (one with a ``network_family``).
        recipe: the training recipe.
        dataset: a :class:`nasbench.train.data.Dataset`.
        members: :class:`Member` tuples ``(arch, seed, start_epoch, epochs, start_state,
            schedule_epochs)``; ``epochs=None`` trains to the end of the member's schedule.
        population: K, members per compiled program.
        keep_state: return each member's final state (checkpoint it with
            :func:`nasbench.train.checkpoint.save_arrays` of the family's
            ``checkpoint_leaves``, or :func:`~nasbench.train.checkpoint.save_state` for
            NB201 cells).
        layout: the family's population layout to compile for (NB201 slot capacities;
            keep one, e.g. the family's ``fixed_layout(population)``, across calls so
            the program compiles once); ``None``: the family's split picks one per call.
        device: a ``jax.Device`` (default: the first local device).

    Returns:
        :class:`~nasbench.train.engine.MemberResults` in the order of ``members``:
        ``metrics[name]`` float32 ``(n, E)`` with ``E`` the most epochs any member
        trained (NaN beyond a member's own ``epochs``; column ``j`` of member ``i`` is its
        epoch ``start_epochs[i] + j + 1``), ``start_epochs`` int64 ``(n,)``,
        ``trained_epochs`` int64 ``(n,)``, ``diverged`` bool ``(n,)``, ``params`` and
        ``flops`` float64 ``(n,)``, ``states`` (with ``keep_state``) a list of ``n`` flat
        ``{path: array}``, ``timing`` (``train_s``, ``eval_s``, ``compile_s``,
        ``members``, ``padded``, ``populations``) and ``platform``.

    Raises:
        ConfigError: a space without a family, an epoch outside a member's schedule, or
            a member that fits no population of the layout.
    """
    from nasbench.train.engine import concat_results

    family = family_of(space)
    ms = [Member(*m) for m in members]
    n = len(ms)
    arch = np.array([int(m.arch) for m in ms], np.int64)
    seed = np.array([int(m.seed) for m in ms], np.int64)
    sched = np.array([int(m.schedule_epochs or recipe.epochs) for m in ms], np.int64)
    first = np.array([int(m.start_epoch) for m in ms], np.int64)
    n_ep = np.array([int(m.epochs) if m.epochs is not None else s - f for m, s, f in zip(ms, sched, first)])
    ops = np.asarray(space.op_matrix(arch)) if n else np.zeros((0, 1), np.int64)
    parts, order = [], []
    compile_s, n_pops = 0.0, 0
    for s in sorted(set(sched.tolist())):
        sel = np.flatnonzero(sched == s)
        groups, caps = family.split(arch[sel], min(population, len(sel)), layout=layout)
        for g in groups:
            pos = sel[g]
            tr = cached_trainer(recipe, dataset, caps, population, "population", device, space=space)
            c0 = tr.compile_s
            res = tr.train(
                arch[pos], seed[pos], ops[pos], start_epoch=first[pos],
                start_state=[ms[i].start_state for i in pos], epochs=n_ep[pos],
                schedule_epochs=int(s), keep_state=keep_state,
            )  # fmt: skip
            compile_s += tr.compile_s - c0
            n_pops += 1
            parts.append(res)
            order.append(pos)
    out = concat_results(parts)
    inv = np.argsort(np.concatenate(order)) if order else np.zeros(0, np.int64)
    out = _reordered(out, inv)
    out.trained_epochs = n_ep.astype(np.int64)
    out.timing.update({"compile_s": compile_s, "populations": n_pops})
    return out


def _reordered(res: Any, order: np.ndarray) -> Any:
    """``res`` with its members in ``order``."""
    return dataclasses.replace(
        res,
        arch_index=res.arch_index[order],
        seed=res.seed[order],
        metrics={m: v[order] for m, v in res.metrics.items()},
        diverged=res.diverged[order],
        params=res.params[order],
        flops=res.flops[order],
        states=[res.states[i] for i in order] if res.states is not None else None,
        start_epochs=res.start_epochs[order],
    )


__all__ = ["Member", "cached_trainer", "train_group", "train_members"]
