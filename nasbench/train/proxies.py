"""Zero-cost proxies: score untrained NB201 networks, many different cells per compiled program.

Every score is computed on the network the trainer builds for the recipe and input shape
(:func:`nasbench.train.population.population_apply`, the trainer's own forward pass),
with each member initialised as the trainer initialises it: key
``fold_in(key(seed), arch_index)``. A population of K cells runs as one compiled
program with fixed slot capacities, so a whole run compiles each program once (K cells,
not one compile per architecture). Larger always means predicted better.

The proxies follow their published definitions (Abdelfattah et al. 2021, "Zero-Cost
Proxies for Lightweight NAS", and their ``foresight`` code; Mellor et al. 2021, "Neural
Architecture Search without Training"). "Weights" are the kernels of every convolution
and of the classifier (PyTorch's ``Conv2d`` and ``Linear`` weights); batch-norm
parameters and biases are not scored.

* ``synflow``: ``sum |theta * dR/dtheta|`` with ``R`` the sum of the logits of the network
  whose parameters are replaced by their absolute values, on one all-ones image, in
  float64, batch norm removed (the paper's ``bn=False`` copy; here every batch norm is
  made the identity). Data-free.
* ``grad_norm``: the sum over layers of the L2 norm of the cross-entropy gradient of the
  layer's weights, on one minibatch, batch norm in training mode (batch statistics).
* ``snip``: ``sum |theta * dL/dtheta|`` over the weights, same minibatch and loss.
* ``jacob_cov``: with ``J`` the gradient of the summed logits with respect to each input
  image (``(B, H*W*C)``), ``-sum(log(v + k) + 1/(v + k))`` over the eigenvalues ``v`` of
  the correlation matrix of ``J``'s rows, ``k = 1e-5`` (already signed so that larger is
  better, as in the paper). A network whose output does not depend on its input has no
  correlation matrix (the paper's code returns NaN); it scores ``-inf`` here.
* ``naswot``: ``log |det K_H|`` with ``K_H[i, j]`` the number of ReLU units whose input
  has the same sign pattern (``> 0`` or not) for images ``i`` and ``j`` (every ReLU of
  the network, as the paper's hooks on every ``nn.ReLU``), batch norm in training mode;
  ``-inf`` when ``K_H`` is singular.
* ``params``, ``flops``: the label-free baselines, from :func:`nasbench.train.model.arch_cost`
  (every op counted, as NAS-Bench-201 counts them; more is predicted better).

The minibatch of the data-dependent proxies is the same for every cell: ``batch`` training
images drawn without replacement by ``numpy.random.default_rng(seed)``. The papers used 64
images (Abdelfattah et al.) and 128 (Mellor et al. on NAS-Bench-201).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasbench.core.errors import ConfigError
from nasbench.core.io import check_output_file
from nasbench.train.recipe import Recipe

log = logging.getLogger(__name__)

#: Every proxy, in column order.
PROXIES: tuple[str, ...] = ("synflow", "grad_norm", "snip", "jacob_cov", "naswot", "params", "flops")
#: The proxies that need no data (a stated input shape and class count suffice).
DATA_FREE: tuple[str, ...] = ("synflow", "params", "flops")
#: The proxies that need one minibatch of labelled training images.
DATA_DEPENDENT: tuple[str, ...] = tuple(p for p in PROXIES if p not in DATA_FREE)
#: ``k`` of jacob_cov (Abdelfattah et al.'s code).
JACOB_COV_K = 1e-5
SCORES_FORMAT = "nasbench-proxy-scores"

ProgressFn = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class InputSpec:
    """A stated input for the data-free proxies: image shape ``(H, W, C)`` and class count."""

    image_shape: tuple[int, int, int]
    n_classes: int

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in self.image_shape)
        if len(shape) != 3 or min(shape) < 1 or shape[0] < 2 or shape[1] < 2:
            raise ConfigError(f"an input shape is H,W,C with H, W >= 2 and C >= 1, got {self.image_shape!r}")
        if int(self.n_classes) < 2:
            raise ConfigError(f"the class count must be >= 2, got {self.n_classes}")
        object.__setattr__(self, "image_shape", shape)
        object.__setattr__(self, "n_classes", int(self.n_classes))

    def summary(self) -> dict[str, Any]:
        return {"name": None, "image_shape": list(self.image_shape), "n_classes": self.n_classes}


def parse_input_shape(text: str) -> tuple[int, int, int]:
    """``"32,32,3"`` -> ``(32, 32, 3)``.

    Raises:
        ConfigError: not three positive integers.
    """
    try:
        shape = tuple(int(s) for s in str(text).replace("x", ",").split(",") if s.strip())
    except ValueError:
        raise ConfigError(f"--input-shape must be H,W,C (three integers), got {text!r}") from None
    if len(shape) != 3:
        raise ConfigError(f"--input-shape must be H,W,C (three integers), got {text!r}")
    return InputSpec(shape, 2).image_shape  # type: ignore[arg-type]


def resolve_proxies(spec: str | Iterable[str]) -> tuple[str, ...]:
    """Proxy names in column order from ``all``, ``data-free``, or a comma-separated list.

    Raises:
        ConfigError: an unknown name, or none at all.
    """
    words = [w.strip() for w in (spec.split(",") if isinstance(spec, str) else spec) if str(w).strip()]
    chosen: set[str] = set()
    for w in words:
        if w == "all":
            chosen.update(PROXIES)
        elif w == "data-free":
            chosen.update(DATA_FREE)
        elif w in PROXIES:
            chosen.add(w)
        else:
            raise ConfigError(f"unknown proxy {w!r}; choose from all, data-free, {', '.join(PROXIES)}")
    if not chosen:
        raise ConfigError("give at least one proxy")
    return tuple(p for p in PROXIES if p in chosen)


# ---- parameter trees ---------------------------------------------------------------------
def _path_keys(path: tuple[Any, ...]) -> list[str]:
    return [str(getattr(k, "key", getattr(k, "name", k))) for k in path]


def _is_weight(path: tuple[Any, ...]) -> bool:
    """A convolution or classifier kernel (what the papers score: Conv2d / Linear weights)."""
    return _path_keys(path)[-1] == "kernel"


def _is_bn(path: tuple[Any, ...]) -> bool:
    return any(k in ("bn", "head_bn") for k in _path_keys(path))


def _per_member_sum(tree: Any, fn: Callable[[Any, Any], Any]) -> Any:
    """``sum`` over the weight leaves of ``fn(path, leaf)``, each reduced to ``(K,)``."""
    import jax

    total = 0.0
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        if _is_weight(path):
            total = total + fn(path, leaf)
    return total


# ---- the compiled programs ---------------------------------------------------------------
class _Programs:
    """The pure functions of one (recipe, input shape, population size); compiled on first use."""

    def __init__(self, recipe: Recipe, image_shape: tuple[int, int, int], n_classes: int, k: int) -> None:
        from nasbench.train.engine import CompileCache

        self.recipe, self.image_shape, self.n_classes, self.k = recipe, image_shape, n_classes, k
        self.programs = CompileCache(max_entries=16)

    @property
    def compile_s(self) -> float:
        """Seconds spent compiling these programs so far."""
        return self.programs.compile_s

    def call(self, name: str, fn: Callable, *args: Any, x64: bool = False) -> Any:
        """``fn(*args)`` compiled once (:class:`nasbench.train.engine.CompileCache`)."""
        import jax

        return jax.block_until_ready(self.programs.call((name,), fn, *args, x64=x64))

    # -- initialisation, as the trainer does it --
    def init(self, seed: int, arch: np.ndarray) -> Any:
        import jax
        import jax.numpy as jnp

        from nasbench.train.model import init_variables

        recipe, shape, n_cls = self.recipe, self.image_shape, self.n_classes

        def init(seed_, arch_):  # noqa: ANN001, ANN202
            def one(a):  # noqa: ANN001, ANN202
                key = jax.random.fold_in(jax.random.key(seed_), a)  # engine.member_key
                return init_variables(jax.random.fold_in(key, 0), recipe, shape, n_cls)

            v = jax.vmap(one)(arch_)
            return v["params"], v["batch_stats"]

        return self.call("init", init, jnp.uint32(seed), jnp.asarray(arch, jnp.uint32))

    # -- synflow: float64, |theta|, all-ones input, batch norm removed --
    def synflow(self, params: Any, stats: Any, plan: Any) -> np.ndarray:
        import jax
        import jax.numpy as jnp

        from nasbench.train.model import BN_EPS
        from nasbench.train.population import population_apply

        recipe, shape, k = self.recipe, self.image_shape, self.k

        def synflow(params, stats, plan):  # noqa: ANN001, ANN202
            def lin(path, a):  # noqa: ANN001, ANN202
                a = jnp.abs(a.astype(jnp.float64))
                if _is_bn(path):  # the identity: scale 1, shift 0
                    return jnp.ones_like(a) if _path_keys(path)[-1] == "scale" else jnp.zeros_like(a)
                return a

            p = jax.tree_util.tree_map_with_path(lin, params)
            # running statistics mean 0, var 1 - eps: evaluation-mode batch norm is the identity
            st = jax.tree_util.tree_map_with_path(
                lambda path, a: (
                    jnp.zeros(a.shape, jnp.float64)
                    if _path_keys(path)[-1] == "mean"
                    else jnp.full(a.shape, 1.0 - BN_EPS, jnp.float64)
                ),
                stats,
            )
            ones = jnp.ones((k, 1, *shape), jnp.float64)

            def total(p):  # noqa: ANN001, ANN202
                logits, _ = population_apply(p, st, ones, plan, recipe, False)
                return logits.sum()  # members are independent: d/dtheta_k is member k's own

            g = jax.grad(total)(p)
            flat_g = dict(
                (jax.tree_util.keystr(q), leaf) for q, leaf in jax.tree_util.tree_flatten_with_path(g)[0]
            )
            return _per_member_sum(
                p,
                lambda path, a: jnp.abs(a * flat_g[jax.tree_util.keystr(path)]).reshape(k, -1).sum(1),
            )

        return np.asarray(self.call("synflow", synflow, params, stats, plan, x64=True), np.float64)

    # -- one minibatch: grad_norm, snip, the input Jacobian, the NASWOT kernel --
    def data(self, params: Any, stats: Any, plan: Any, xb: Any, yb: Any) -> dict[str, np.ndarray]:
        import jax
        import jax.numpy as jnp

        from nasbench.train.population import population_apply

        recipe, k, n_cls = self.recipe, self.k, self.n_classes

        def data(params, stats, plan, xb, yb):  # noqa: ANN001, ANN202
            b = xb.shape[0]
            xk = jnp.broadcast_to(xb, (k, *xb.shape))

            def forward(p, x):  # noqa: ANN001, ANN202
                kernel = jnp.zeros((k, b, b), jnp.float32)
                taps: list[tuple[Any, Any]] = []

                def tap(pre, members):  # noqa: ANN001, ANN202
                    taps.append((pre, members))

                logits, _ = population_apply(p, stats, x, plan, recipe, True, relu_tap=tap)
                for pre, members in taps:
                    # sign codes s = +-1: s_i . s_j = units - 2 * hamming, so units - hamming = (units + s_i . s_j) / 2
                    s = jnp.where(pre > 0, 1.0, -1.0).reshape(pre.shape[0], b, -1)
                    g = 0.5 * (s.shape[-1] + jnp.einsum("sid,sjd->sij", s, s))
                    kernel = kernel + g if members is None else kernel.at[members].add(g, mode="drop")
                return logits, jax.lax.stop_gradient(kernel)

            logits, vjp, kernel = jax.vjp(forward, params, xk, has_aux=True)
            onehot = jax.nn.one_hot(yb, n_cls)
            # d(sum of the members' mean cross-entropies)/d logits
            g_loss = (jax.nn.softmax(logits) - onehot[None]) / b
            gp, _ = vjp(g_loss)
            _, gx = vjp(jnp.ones_like(logits))
            flat_g = dict(
                (jax.tree_util.keystr(q), leaf) for q, leaf in jax.tree_util.tree_flatten_with_path(gp)[0]
            )

            def grad_of(path):  # noqa: ANN001, ANN202
                return flat_g[jax.tree_util.keystr(path)].reshape(k, -1)

            grad_norm = _per_member_sum(params, lambda path, a: jnp.sqrt((grad_of(path) ** 2).sum(1)))
            snip = _per_member_sum(params, lambda path, a: jnp.abs(a.reshape(k, -1) * grad_of(path)).sum(1))
            return {
                "grad_norm": grad_norm,
                "snip": snip,
                "jacobian": gx.reshape(k, b, -1),
                "naswot_kernel": kernel,
            }

        out = self.call("data", data, params, stats, plan, xb, yb)
        return {key: np.asarray(v) for key, v in out.items()}


def jacob_cov_score(jacobian: np.ndarray, k: float = JACOB_COV_K) -> float:
    """``-sum(log(v + k) + 1/(v + k))`` over the eigenvalues of ``corrcoef(jacobian)``.

    Args:
        jacobian: ``(B, D)`` one row per image.

    Returns:
        the score (float64); ``-inf`` when a row is constant (no correlation defined).
    """
    j = np.asarray(jacobian, np.float64)
    if not np.all(np.isfinite(j)) or np.any(j.std(axis=1) == 0):
        return float("-inf")
    v = np.linalg.eigvalsh(np.corrcoef(j))
    return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))


def naswot_score(kernel: np.ndarray) -> float:
    """``log |det K_H|`` in float64 (``-inf`` for a singular kernel). ``kernel``: ``(B, B)``."""
    _, logdet = np.linalg.slogdet(np.asarray(kernel, np.float64))
    return float(logdet)


# ---- the library function ---------------------------------------------------------------
def proxy_scores(
    space: Any,
    archs: Sequence[int] | np.ndarray,
    recipe: Recipe,
    data: Any,
    *,
    proxies: Iterable[str] | str = PROXIES,
    seed: int = 0,
    batch: int = 64,
    population: int = 50,
    progress: ProgressFn | None = None,
    device: Any = None,
) -> Any:
    """Zero-cost proxy scores of NB201 cells (one row per architecture, in the given order).

    Args:
        space: the NB201 space.
        archs: ``(n,)`` space indices.
        recipe: the training recipe whose network is scored (channels, cells, reduction).
        data: a :class:`nasbench.train.data.Dataset` (any proxy) or an :class:`InputSpec`
            (the data-free proxies only).
        proxies: names (:data:`PROXIES`), ``all`` or ``data-free``.
        seed: initialisation (the trainer's ``fold_in(key(seed), arch_index)``) and the
            minibatch draw; the same seed gives the same scores.
        batch: images in the one minibatch of the data-dependent proxies.
        population: cells per compiled program.
        progress: called after each population with ``done``, ``total``, ``elapsed_s``.
        device: a ``jax.Device`` (default: the first local device).

    Returns:
        a ``pandas.DataFrame`` with ``arch`` (NB201 string), ``arch_index`` and one float64
        column per proxy; ``attrs["timing"]`` holds ``wall_s``, ``compile_s`` and the
        number of populations.

    Raises:
        ConfigError: a space other than NB201, unknown proxies, a data-dependent proxy
            without a dataset, a bad batch or population size, or a population that
            does not fit in memory.
    """
    import pandas as pd

    from nasbench.train.families import family_of

    t_start = time.perf_counter()
    names = resolve_proxies(proxies)
    arch = space.check_indices(np.asarray(archs, np.int64).reshape(-1))
    ops = family_of(space).cell_ops(arch, "the zero-cost proxies")
    if len(arch) == 0:
        raise ConfigError("no architectures to score")
    if population < 1:
        raise ConfigError(f"population must be >= 1, got {population}")
    need_data = [p for p in names if p in DATA_DEPENDENT]
    if isinstance(data, InputSpec):
        if need_data:
            raise ConfigError(
                f"{', '.join(need_data)} need a dataset (--dataset); without one only "
                f"{', '.join(DATA_FREE)} run (--proxies data-free)"
            )
        image_shape, n_classes = data.image_shape, data.n_classes
    else:
        image_shape, n_classes = tuple(data.image_shape), int(data.n_classes)
    if need_data and not 2 <= batch <= len(data.y_train):
        raise ConfigError(f"--batch must be in 2..{len(data.y_train)} (training images), got {batch}")

    out: dict[str, np.ndarray] = {p: np.full(len(arch), np.nan) for p in names}
    if "params" in names or "flops" in names:
        from nasbench.train.model import arch_cost

        costs = [arch_cost(recipe, o, image_shape, n_classes) for o in ops]
        for p in ("params", "flops"):
            if p in names:
                out[p] = np.array([c[p] for c in costs], np.float64)
    network = [p for p in names if p not in ("params", "flops")]
    timing: dict[str, Any] = {"compile_s": 0.0, "populations": 0}
    if network:
        _network_scores(
            arch, ops, recipe, data, image_shape, n_classes, network, out, seed, batch, population, progress,
            device, timing, t_start,
        )  # fmt: skip
    elif progress:
        progress({"done": len(arch), "total": len(arch), "elapsed_s": time.perf_counter() - t_start})
    df = pd.DataFrame(
        {
            "arch": [str(space.arch(int(i))) for i in arch],
            "arch_index": arch.astype(np.int64),
            **{p: out[p].astype(np.float64) for p in names},
        }
    )
    timing["wall_s"] = time.perf_counter() - t_start
    df.attrs["timing"] = timing
    return df


def _network_scores(
    arch: np.ndarray,
    ops: np.ndarray,
    recipe: Recipe,
    data: Any,
    image_shape: tuple[int, ...],
    n_classes: int,
    names: list[str],
    out: dict[str, np.ndarray],
    seed: int,
    batch: int,
    population: int,
    progress: ProgressFn | None,
    device: Any,
    timing: dict[str, Any],
    t_start: float,
) -> None:
    """Fill ``out`` with the proxies that run the network, population by population."""
    import jax

    from nasbench.spaces.nb201 import N_EDGES
    from nasbench.train.population import check_population_memory, make_plan, partition

    device = device or jax.local_devices()[0]
    k = min(population, len(arch))
    need_data = any(p in DATA_DEPENDENT for p in names)
    if need_data:
        check_population_memory(
            recipe.replace(batch_size=batch, eval_batch_size=batch), image_shape, k, device
        )
    groups, caps = partition(ops, k)
    progs = _programs(recipe, tuple(int(s) for s in image_shape), int(n_classes), k)
    compile_before = progs.compile_s
    xb = yb = None
    if need_data:
        pick = np.random.default_rng(seed).choice(len(data.y_train), batch, replace=False)
        xb = jax.device_put(np.asarray(data.x_train[pick], np.float32), device)
        yb = jax.device_put(np.asarray(data.y_train[pick], np.int32), device)
    done = 0
    for g in groups:
        n = len(g)
        pad = k - n
        # padding members: the all-none cell (no conv slot), results discarded
        g_ops = np.concatenate([ops[g], np.zeros((pad, N_EDGES), np.int32)])
        g_arch = np.concatenate([arch[g], np.zeros(pad, np.int64)])
        plan = jax.device_put(jax.tree_util.tree_map(np.asarray, make_plan(g_ops, caps)), device)
        params, stats = progs.init(int(seed), g_arch)
        if "synflow" in names:
            out["synflow"][g] = progs.synflow(params, stats, plan)[:n]
        if need_data:
            res = progs.data(params, stats, plan, xb, yb)
            for p in ("grad_norm", "snip"):
                if p in names:
                    out[p][g] = res[p][:n].astype(np.float64)
            if "jacob_cov" in names:
                out["jacob_cov"][g] = [jacob_cov_score(j) for j in res["jacobian"][:n]]
            if "naswot" in names:
                out["naswot"][g] = [naswot_score(m) for m in res["naswot_kernel"][:n]]
        done += n
        timing["populations"] += 1
        if progress:
            progress({"done": done, "total": len(arch), "elapsed_s": time.perf_counter() - t_start})
    timing["compile_s"] = progs.compile_s - compile_before


def _programs(recipe: Recipe, image_shape: tuple[int, int, int], n_classes: int, k: int) -> _Programs:
    """The programs of one network and population size, kept for later calls (compiled once)."""
    from nasbench.train.engine import cached

    return cached(
        ("proxies", recipe, image_shape, n_classes, k), lambda: _Programs(recipe, image_shape, n_classes, k)
    )


# ---- the command's job: resolve, score, write --------------------------------------------
@dataclass(frozen=True)
class ProxyConfig:
    """Everything ``nasbench estimate proxies`` needs.

    Attributes:
        out: output parquet path.
        recipe: the recipe whose network is scored.
        recipe_name: how the recipe was named (recorded).
        dataset: ``digits`` or ``npz:PATH``; ``None`` with ``input_spec``.
        input_spec: the stated input of a data-free run.
        space: search-space name (``nb201``).
        archs: ``unique``, ``all``, ``N`` or a file (as ``nasbench build`` takes).
        proxies: proxy names in column order.
        seed: initialisation and minibatch seed.
        batch: minibatch size of the data-dependent proxies.
        population: cells per compiled program.
    """

    out: Path
    recipe: Recipe
    recipe_name: str | None = None
    dataset: str | None = None
    input_spec: InputSpec | None = None
    space: str = "nb201"
    archs: str = "unique"
    proxies: tuple[str, ...] = PROXIES
    seed: int = 0
    batch: int = 64
    population: int = 50
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        object.__setattr__(self, "proxies", resolve_proxies(self.proxies))
        if (self.dataset is None) == (self.input_spec is None):
            raise ConfigError(
                "give either a dataset (--dataset) or a stated input (--input-shape, --classes)"
            )
        if self.seed < 0:
            raise ConfigError(f"--seed must be >= 0, got {self.seed}")
        if self.population < 1:
            raise ConfigError(f"--population must be >= 1, got {self.population}")
        need = [p for p in self.proxies if p in DATA_DEPENDENT]
        if self.dataset is None and need:
            raise ConfigError(
                f"{', '.join(need)} need a dataset (--dataset); without one only "
                f"{', '.join(DATA_FREE)} run (--proxies data-free)"
            )


def estimate_proxies(config: ProxyConfig, *, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Score the architectures of ``config`` and write them to ``config.out`` atomically.

    The parquet holds the :func:`proxy_scores` frame; its schema metadata (key
    ``nasbench``) records the space, recipe, dataset or input, seed, batch and versions.

    Returns:
        the summary printed by the command (``--json``).
    """
    from nasbench.tables.scores import write_scores
    from nasbench.tables.table import package_versions
    from nasbench.train.families import resolve_archs, resolve_trainable_space

    check_output_file(config.out)
    space = resolve_trainable_space(config.space)
    archs = resolve_archs(space, config.archs)
    if config.dataset is not None:
        from nasbench.train.data import load_dataset

        data: Any = load_dataset(config.dataset, config.recipe)
    else:
        data = config.input_spec
    df = proxy_scores(
        space,
        archs,
        config.recipe,
        data,
        proxies=config.proxies,
        seed=config.seed,
        batch=config.batch,
        population=config.population,
        progress=progress,
    )
    timing = dict(df.attrs.get("timing", {}))
    meta = {
        "format": SCORES_FORMAT,
        "version": 1,
        "space": {"name": space.name, "config": space.config()},
        "archs": config.archs,
        "n_archs": len(df),
        "proxies": list(config.proxies),
        "larger_is_better": True,
        "seed": config.seed,
        "batch": config.batch if any(p in DATA_DEPENDENT for p in config.proxies) else None,
        "recipe": config.recipe.to_dict(),
        "recipe_name": config.recipe_name,
        "recipe_hash": config.recipe.content_hash(),
        "dataset": data.summary(),
        "versions": package_versions("jax", "flax"),
        **config.extra,
    }
    write_scores(df, config.out, meta)
    summary: dict[str, Any] = {
        "out": str(config.out),
        "archs": len(df),
        "proxies": list(config.proxies),
        "seed": config.seed,
        "batch": meta["batch"],
        "dataset": config.dataset,
        "input_shape": list(data.image_shape),
        "classes": int(data.n_classes),
        "recipe": config.recipe_name,
        "population": min(config.population, len(df)),
        "populations": timing.get("populations", 0),
        "wall_s": round(float(timing.get("wall_s", 0.0)), 3),
        "compile_s": round(float(timing.get("compile_s", 0.0)), 3),
        "scores": {
            p: {
                "min": float(np.min(df[p])) if len(df) else None,
                "median": float(np.median(df[p])) if len(df) else None,
                "max": float(np.max(df[p])) if len(df) else None,
                "non_finite": int((~np.isfinite(df[p].to_numpy())).sum()),
            }
            for p in config.proxies
        },
    }
    return summary


__all__ = [
    "DATA_DEPENDENT",
    "DATA_FREE",
    "InputSpec",
    "PROXIES",
    "ProxyConfig",
    "estimate_proxies",
    "jacob_cov_score",
    "naswot_score",
    "parse_input_shape",
    "proxy_scores",
    "resolve_proxies",
]
