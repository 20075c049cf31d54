"""Strategy registry: name -> loader of the strategy class, imported on first use.

Add a strategy by writing one module with a :class:`~strategies.base.Strategy` subclass
and adding one line to :data:`STRATEGIES` (or calling :func:`register_strategy` from your
own code). A name may carry modifiers after ``+``: ``re+es`` is regularized evolution
with learning-curve early stopping (:mod:`strategies.early_stopping`). A name
``PREFIX:NAME`` is built by the factory registered for ``PREFIX`` in :data:`PREFIXES`:
``optuna:tpe`` is Optuna's TPE sampler, ``synetune:rea`` syne-tune's regularized evolution
(:mod:`strategies.optuna_bridge`, :mod:`strategies.synetune_bridge`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nasbench.core.config import build_config
from strategies.base import SearchContext, Strategy
from strategies.errors import StrategyConfigError, UnknownStrategyError


def _lazy(module: str, cls: str) -> Callable[[], type[Strategy]]:
    def load() -> type[Strategy]:
        return getattr(importlib.import_module(module), cls)

    return load


#: name -> loader of the strategy class.
STRATEGIES: dict[str, Callable[[], type[Strategy]]] = {
    "rs": _lazy("strategies.random_search", "RandomSearch"),
    "re": _lazy("strategies.evolution", "RegularizedEvolution"),
    "ls": _lazy("strategies.local_search", "LocalSearch"),
    "reinforce": _lazy("strategies.reinforce", "Reinforce"),
    "bananas": _lazy("strategies.bananas", "Bananas"),
    "screened": _lazy("strategies.screened", "ScreenedSearch"),
    "ranked": _lazy("strategies.ranked", "RankedSearch"),
    "sh": _lazy("strategies.hyperband", "SuccessiveHalving"),
    "hb": _lazy("strategies.hyperband", "Hyperband"),
    "mo-rs": _lazy("strategies.multiobjective", "MultiObjectiveRandomSearch"),
    "mo-re": _lazy("strategies.multiobjective", "MultiObjectiveEvolution"),
    "parego": _lazy("strategies.multiobjective", "ParEGO"),
}


def _lazy_factory(module: str, func: str) -> Callable[[str], type[Strategy]]:
    def factory(name: str) -> type[Strategy]:
        return getattr(importlib.import_module(module), func)(name)

    return factory


#: prefix -> factory of the strategy class for ``PREFIX:NAME`` (it gets ``NAME`` and raises
#: :class:`UnknownStrategyError` for a name it does not know); the library behind each is
#: imported only when such a name is used.
PREFIXES: dict[str, Callable[[str], type[Strategy]]] = {
    "optuna": _lazy_factory("strategies.optuna_bridge", "strategy_class"),
    "synetune": _lazy_factory("strategies.synetune_bridge", "strategy_class"),
}

#: modifier -> loader of a wrapper class ``Wrapper(inner, context, rng, config, surrogate=...)``.
MODIFIERS: dict[str, Callable[[], type[Strategy]]] = {
    "es": _lazy("strategies.early_stopping", "EarlyStopping"),
}

#: The strategies ``compare`` runs by default and their order in reports.
DEFAULT_COMPARE: tuple[str, ...] = ("rs", "re", "ls", "reinforce", "hb", "re+es", "bananas", "screened")


def register_strategy(name: str, loader: Callable[[], type[Strategy]]) -> None:
    """Register a strategy class loader under ``name`` (for strategies outside this package)."""
    if not name or any(c in name for c in "+,:"):
        raise StrategyConfigError(f"strategy names must be non-empty without '+', ',' or ':', got {name!r}")
    STRATEGIES[name] = loader


def available() -> list[str]:
    """Registered strategy names (without modifiers or prefixed names)."""
    return list(STRATEGIES)


def _load(base: str) -> type[Strategy]:
    """The class of a base name: a registered one, or ``PREFIX:NAME`` from its factory."""
    prefix, colon, rest = base.partition(":")
    if colon:
        return PREFIXES[prefix](rest)
    return STRATEGIES[base]()


def parse_name(name: str) -> tuple[str, tuple[str, ...]]:
    """Split ``"re+es"`` into ``("re", ("es",))``.

    Raises:
        UnknownStrategyError: unknown base name or modifier.
    """
    parts = [p.strip() for p in str(name).split("+")]
    base, mods = parts[0], tuple(parts[1:])
    prefix, colon, rest = base.partition(":")
    if colon and prefix in PREFIXES:
        PREFIXES[prefix](rest)  # an unknown NAME raises here, with the names it knows
    elif base not in STRATEGIES:
        raise UnknownStrategyError(
            f"unknown strategy {base!r}; available: {', '.join(STRATEGIES)}, "
            + ", ".join(f"{p}:NAME" for p in PREFIXES)
            + " (modifiers: "
            + ", ".join(f"+{m}" for m in MODIFIERS)
            + ")"
        )
    for m in mods:
        if m not in MODIFIERS:
            raise UnknownStrategyError(
                f"unknown strategy modifier {m!r} in {name!r}; available: "
                + ", ".join(f"+{k}" for k in MODIFIERS)
            )
    if len(set(mods)) != len(mods):
        raise UnknownStrategyError(f"strategy {name!r} repeats a modifier")
    return base, mods


def strategy_class(name: str) -> type[Strategy]:
    """The class registered under a base name (modifiers are not allowed here)."""
    base, mods = parse_name(name)
    if mods:
        raise UnknownStrategyError(f"{name!r} has modifiers; strategy_class takes a base name")
    return _load(base)


#: Parameters ``surrogate.NAME`` (``es.surrogate.NAME`` for the modifier's) go to the
#: surrogate's constructor, e.g. ``surrogate.cv=2``.
SURROGATE_PREFIX = "surrogate"


def _surrogate_params(part: dict[str, Any]) -> dict[str, Any]:
    """Pop ``surrogate.X`` entries of one part's parameters."""
    keys = [k for k in part if k.startswith(SURROGATE_PREFIX + ".")]
    return {k[len(SURROGATE_PREFIX) + 1 :]: part.pop(k) for k in keys}


def split_params(name: str, params: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Split flat parameters into the base strategy's and each modifier's (``es.confidence``).

    Raises:
        StrategyConfigError: a prefixed parameter names a modifier ``name`` does not use.
    """
    base, mods = parse_name(name)
    out: dict[str, dict[str, Any]] = {base: {}, **{m: {} for m in mods}}
    for key, value in (params or {}).items():
        prefix, dot, rest = str(key).partition(".")
        if dot and prefix != SURROGATE_PREFIX:
            if prefix not in mods:
                raise StrategyConfigError(
                    f"parameter {key!r} is for modifier +{prefix}, which strategy {name!r} does not use"
                )
            out[prefix][rest] = value
        else:
            out[base][key] = value
    return out


def make_strategy(
    name: str,
    context: SearchContext,
    rng: np.random.Generator,
    *,
    params: Mapping[str, Any] | None = None,
    surrogate: Any = None,
) -> Strategy:
    """Build a strategy by name.

    Args:
        name: registered name, optionally with modifiers (``"re+es"``).
        context: space and fidelities.
        rng: the strategy's generator (surrogates get seeds drawn from it).
        params: strategy parameters; a modifier's take its prefix (``"es.confidence"``);
            ``surrogate.X`` (``es.surrogate.X``) are the surrogate's constructor parameters.
        surrogate: for every part that uses one (the strategy, an early-stopping
            modifier): a registry name of :func:`surrogates.make_surrogate`, an unfitted
            estimator (cloned for each part), or ``None`` for each part's default (a
            ``surrogate`` parameter in a part's config takes precedence).

    Raises:
        UnknownStrategyError: unknown name or modifier.
        StrategyConfigError: unknown or mistyped parameter.
        FidelityError: the table lacks a fidelity the strategy needs.
    """
    base, mods = parse_name(name)
    split = split_params(name, params)
    sur_params = {part: _surrogate_params(p) for part, p in split.items()}
    cls = _load(base)
    config = build_config(cls.Config, split[base], who=f"strategy {base}", error=StrategyConfigError)
    cls.check_context(context, config)
    wrappers = []
    for m in mods:
        wrapper = MODIFIERS[m]()
        wconf = build_config(wrapper.Config, split[m], who=f"modifier +{m}", error=StrategyConfigError)
        wrapper.check_context(context, wconf)
        wrappers.append((m, wrapper, wconf))
    for part, sp in sur_params.items():
        uses = (cls if part == base else MODIFIERS[part]()).uses_surrogate
        if sp and not uses:
            raise StrategyConfigError(f"{part} uses no surrogate; drop the surrogate.* parameter(s)")
    est = (
        make_surrogate_for(cls, config, context, rng, surrogate, sur_params[base])
        if cls.uses_surrogate
        else None
    )
    strategy = cls(context, rng, config, surrogate=est)
    strategy.name = base  # type: ignore[misc]
    for m, wrapper, wconf in wrappers:
        west = (
            make_surrogate_for(wrapper, wconf, context, rng, surrogate, sur_params[m])
            if wrapper.uses_surrogate
            else None
        )
        strategy = wrapper(strategy, context, rng, wconf, surrogate=west)  # type: ignore[call-arg]
        strategy.name = f"{_inner_name(strategy)}+{m}"  # type: ignore[misc]
    return strategy


def _inner_name(wrapper: Any) -> str:
    return getattr(getattr(wrapper, "inner", None), "name", "") or ""


def make_surrogate_for(
    cls: type,
    config: Any,
    context: SearchContext,
    rng: np.random.Generator,
    surrogate: Any,
    params: Mapping[str, Any] | None = None,
) -> Any:
    """An unfitted surrogate for a strategy class: the config's, the given one, or the class default.

    ``params`` go to the surrogate's constructor (registry names only).

    Raises:
        StrategyConfigError: the surrogates package is missing or the name is unknown.
    """
    spec = getattr(config, "surrogate", None) or surrogate
    if spec is None:
        spec = getattr(cls, "default_surrogate", None)
    seed = int(rng.integers(2**31 - 1))
    if spec is None or isinstance(spec, str):
        try:
            import surrogates

            surrogates.make_surrogate  # noqa: B018 - fail here if the package is incomplete
        except (ImportError, AttributeError):
            raise StrategyConfigError(
                f"strategy {cls.__name__} needs a surrogate, but the surrogates package is not installed"
            ) from None
        name = spec or surrogates.DEFAULT_SURROGATE
        # an unknown name raises the surrogates package's own (NasbenchError) error
        try:
            est = surrogates.make_surrogate(
                name, context.space, epochs=list(context.epochs), random_state=seed, **dict(params or {})
            )
        except TypeError as exc:  # an unknown constructor parameter
            raise StrategyConfigError(f"surrogate {name!r}: {exc}") from None
        return with_context_scores(with_score_bounds(est, context, params), context, params)
    from sklearn.base import clone

    est = clone(spec)
    if params:
        est.set_params(**params)
    if "random_state" in est.get_params():
        est.set_params(random_state=seed)
    return est


def with_score_bounds(est: Any, context: SearchContext, params: Mapping[str, Any] | None = None) -> Any:
    """``est`` with its curve extrapolations clipped to the context's score range (where it
    takes ``bounds`` and they were not set explicitly). The default range is accuracy's
    ``(0, 100)``; a table that minimises a loss tells scores below 0 and has none."""
    from surrogates.inputs import set_score_bounds

    return set_score_bounds(est, context.score_bounds, params)


def with_context_scores(est: Any, context: SearchContext, params: Mapping[str, Any] | None = None) -> Any:
    """``est`` with the context's per-architecture scores added to its features, where it
    takes them (``scores``) and its encodings were not set explicitly."""
    if context.scores is None or "scores" not in est.get_params() or "kinds" in (params or {}):
        return est
    from surrogates.encoders import SCORES_KIND, default_kinds

    return est.set_params(scores=context.scores, kinds=(*default_kinds(context.space), SCORES_KIND))


def validate(
    name: str, context: SearchContext, params: Mapping[str, Any] | None = None, surrogate: Any = None
) -> Strategy:
    """Build a throwaway instance to surface every configuration error before any run."""
    return make_strategy(name, context, np.random.default_rng(0), params=params, surrogate=surrogate)
