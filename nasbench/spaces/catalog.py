"""A catalog space: a finite list of configurations read from an imported table.

Each configuration has a string id (e.g. a MetaQNN layer string) and optional numeric
feature columns (parameters, depth, learning rate, ...). Indices are row positions in
the catalog. This lets real learning-curve data from any other search space be used by
the same tables, surrogates and strategies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasbench.core.errors import ArchitectureError
from nasbench.spaces.base import SearchSpace


@dataclass(frozen=True, slots=True)
class CatalogArch:
    """One configuration of a catalog: its id and position."""

    id: str
    index: int

    def __str__(self) -> str:
        return self.id


class CatalogSpace(SearchSpace):
    """A finite set of configurations identified by unique string ids.

    Args:
        ids: unique configuration ids, one per index.
        features: float array ``(len(ids), n_features)`` (may have 0 columns).
        feature_names: names of the feature columns.
        n_neighbours: size of the neighbourhood used by local search and mutation
            (nearest configurations in standardised feature space).
    """

    name = "catalog"

    def __init__(
        self,
        ids: Sequence[str],
        features: np.ndarray | None = None,
        feature_names: Sequence[str] = (),
        n_neighbours: int = 8,
    ) -> None:
        self.ids: tuple[str, ...] = tuple(str(i) for i in ids)
        if not self.ids:
            raise ArchitectureError("a catalog space needs at least one configuration")
        self._pos = {cid: i for i, cid in enumerate(self.ids)}
        if len(self._pos) != len(self.ids):
            seen: set[str] = set()
            dup = next(i for i in self.ids if i in seen or seen.add(i))  # type: ignore[func-returns-value]
            raise ArchitectureError(f"catalog ids must be unique; {dup!r} appears twice")
        feats = np.zeros((len(self.ids), 0)) if features is None else np.asarray(features, dtype=np.float64)
        if feats.ndim != 2 or feats.shape[0] != len(self.ids) or feats.shape[1] != len(feature_names):
            raise ArchitectureError(
                f"catalog features must have shape ({len(self.ids)}, {len(feature_names)}), got {feats.shape}"
            )
        if not np.all(np.isfinite(feats)):
            raise ArchitectureError("catalog feature columns must be finite numbers")
        self.features = feats
        self.features.setflags(write=False)
        self.feature_names: tuple[str, ...] = tuple(feature_names)
        self.n_neighbours = int(n_neighbours)
        self._nbrs: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"CatalogSpace(size={self.size}, features={list(self.feature_names)})"

    def config(self) -> dict[str, Any]:
        return {"feature_names": list(self.feature_names), "n_neighbours": self.n_neighbours}

    @classmethod
    def from_table(
        cls, config: dict[str, Any], arch_ids: Sequence[str], arch_columns: dict[str, np.ndarray]
    ) -> CatalogSpace:
        names = list(config.get("feature_names", []))
        missing = [n for n in names if n not in arch_columns]
        if missing:
            raise ArchitectureError(f"catalog feature columns missing from the table: {missing}")
        feats = np.stack([arch_columns[n] for n in names], axis=1) if names else None
        return cls(arch_ids, feats, names, int(config.get("n_neighbours", 8)))

    @property
    def size(self) -> int:
        return len(self.ids)

    def parse(self, text: str) -> CatalogArch:
        key = text.strip() if isinstance(text, str) else text
        if key not in self._pos:
            raise ArchitectureError(f"unknown catalog id {text!r} ({self.size} ids in the catalog)")
        return CatalogArch(key, self._pos[key])

    def arch(self, index: int) -> CatalogArch:
        i = int(self.check_indices([index])[0])
        return CatalogArch(self.ids[i], i)

    def index(self, arch: Any) -> int:
        if isinstance(arch, CatalogArch):
            return self.parse(arch.id).index
        if isinstance(arch, str):
            if arch.strip() in self._pos:
                return self._pos[arch.strip()]
            if arch.strip().isdigit():
                return int(self.check_indices([int(arch)])[0])
            return self.parse(arch).index
        if isinstance(arch, int | np.integer) and not isinstance(arch, bool):
            return int(self.check_indices([arch])[0])
        raise ArchitectureError(f"cannot interpret {arch!r} as a catalog configuration")

    def neighbours(self, index: int) -> np.ndarray:
        i = int(self.check_indices([index])[0])
        if self._nbrs is None:
            self._nbrs = self._build_neighbours()
        return self._nbrs[i]

    def _build_neighbours(self) -> np.ndarray:
        n = self.size
        k = min(self.n_neighbours, n - 1)
        if self.features.shape[1] == 0:
            # No geometry: neighbours are the next k ids cyclically (a fixed, seed-free ring).
            return (np.arange(n)[:, None] + np.arange(1, k + 1)[None, :]) % n
        z = self.features - self.features.mean(0)
        sd = z.std(0)
        z = z / np.where(sd > 0, sd, 1.0)
        out = np.empty((n, k), dtype=np.int64)
        for start in range(0, n, 1024):  # blocks keep memory at 1024 x n
            d = ((z[start : start + 1024, None, :] - z[None, :, :]) ** 2).sum(-1)
            d[np.arange(d.shape[0]), np.arange(start, start + d.shape[0])] = np.inf
            out[start : start + 1024] = np.argsort(d, axis=1, kind="stable")[:, :k]
        return out

    @property
    def encodings(self) -> tuple[str, ...]:
        return ("features", "log_features") if self.features.shape[1] else ()

    @property
    def default_encodings(self) -> tuple[str, ...]:
        """The feature columns, log-scaled where they span orders of magnitude; none: ``()``."""
        return ("log_features",) if self.features.shape[1] else ()

    def encoding_names(self, kind: str) -> list[str]:
        if kind not in self.encodings:
            raise self._unknown_encoding(kind)
        return list(self.feature_names)

    def encode(self, indices: Sequence[int] | np.ndarray, kind: str) -> np.ndarray:
        if kind not in self.encodings:
            if self.features.shape[1] == 0:
                raise ArchitectureError(
                    "this catalog has no feature columns to encode; import it with --feature-columns"
                )
            raise self._unknown_encoding(kind)
        feats = self.features[self.check_indices(indices)].astype(np.float32)
        if kind == "features":
            return feats
        feats = feats.astype(np.float64)
        return np.where(self._log_columns()[None, :], np.log(np.maximum(feats, 1e-300)), feats)

    def _log_columns(self) -> np.ndarray:
        """bool ``(d,)``: feature columns that are positive and span more than 100x."""
        feats = np.asarray(self.features, dtype=np.float64)
        if feats.size == 0:
            return np.zeros(feats.shape[1], dtype=bool)
        lo, hi = feats.min(0), feats.max(0)
        return (lo > 0) & (hi / np.where(lo > 0, lo, 1.0) > 100.0)
