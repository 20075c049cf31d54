"""The search-space interface.

A search space is a finite set of architectures numbered ``0 .. size-1``. Strategies,
tables and surrogates work with these integer indices (fast, vectorizable); users see
immutable architecture values with one canonical string. A second space is added by
writing one subclass and registering it in :mod:`nasbench.spaces` -- nothing else
changes.
"""

from __future__ import annotations

import abc
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from nasbench.core.errors import ArchitectureError


class SearchSpace(abc.ABC):
    """A finite, indexable search space.

    Attributes:
        name: registry name of the space (``"nb201"``, ``"catalog"``).
        network_family: the key of the network family the trainer builds for this space's
            architectures (``"nb201-cell"``, ``"mlp"``; :mod:`nasbench.train.families`), or
            ``None`` for a space that only describes results (it cannot be trained).
    """

    name: str = ""
    network_family: str | None = None

    # ---- identity -------------------------------------------------------------------
    @property
    @abc.abstractmethod
    def size(self) -> int:
        """Number of architectures (indices are ``0 .. size-1``)."""

    @abc.abstractmethod
    def parse(self, text: str) -> Any:
        """Parse the canonical string form into an architecture value.

        Raises:
            ArchitectureError: the string is malformed.
        """

    @abc.abstractmethod
    def arch(self, index: int) -> Any:
        """The architecture value with this index."""

    @abc.abstractmethod
    def index(self, arch: Any) -> int:
        """The stable integer index of an architecture value, string or index."""

    def to_str(self, arch: Any) -> str:
        """Canonical string of an architecture (value, string or index)."""
        return str(self.arch(self.index(arch)))

    def config(self) -> dict[str, Any]:
        """JSON-serialisable parameters that rebuild this space (stored in tables)."""
        return {}

    @classmethod
    def from_table(
        cls, config: dict[str, Any], arch_ids: Sequence[str], arch_columns: dict[str, np.ndarray]
    ) -> SearchSpace:
        """Rebuild the space of a loaded table from its config and per-architecture data.

        Spaces defined by the table itself (a catalog) override this.
        """
        return cls(**config)

    # ---- isomorphism ----------------------------------------------------------------
    def iso_key(self, arch: Any) -> Hashable:
        """A key equal for exactly the architectures that compute the same function."""
        return self.index(arch)

    def iso_representatives(self) -> np.ndarray:
        """int64 array ``(size,)``: for each index, the smallest index of its class."""
        return np.arange(self.size, dtype=np.int64)

    # ---- generation -----------------------------------------------------------------
    def sample(self, rng: np.random.Generator, n: int | None = None) -> int | np.ndarray:
        """Uniformly random indices drawn from ``rng`` (a scalar when ``n`` is None)."""
        if n is None:
            return int(rng.integers(self.size))
        return rng.integers(self.size, size=n).astype(np.int64)

    @abc.abstractmethod
    def neighbours(self, index: int) -> np.ndarray:
        """int64 array of the indices one elementary change away from ``index``."""

    def mutate(self, index: int, rng: np.random.Generator) -> int:
        """A uniformly random neighbour of ``index``."""
        nbrs = self.neighbours(int(index))
        if len(nbrs) == 0:
            raise ArchitectureError(f"architecture {index} has no neighbours in {self.name}")
        return int(nbrs[rng.integers(len(nbrs))])

    # ---- encodings ------------------------------------------------------------------
    @property
    @abc.abstractmethod
    def encodings(self) -> tuple[str, ...]:
        """Names of the encodings :meth:`encode` supports."""

    @property
    def default_encodings(self) -> tuple[str, ...]:
        """The encodings a surrogate concatenates when asked for ``kinds="auto"``.

        Every encoding by default; a space overrides this with the ones that predict
        best (measured in ``benchmarks/SURROGATES.md`` for the shipped spaces).
        """
        return tuple(self.encodings)

    @abc.abstractmethod
    def encode(self, indices: Sequence[int] | np.ndarray, kind: str) -> np.ndarray:
        """Encode architectures as a float array ``(n, d)``.

        Raises:
            ArchitectureError: unknown encoding name or index out of range.
        """

    # ---- helpers --------------------------------------------------------------------
    def check_indices(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Validate and return indices as an int64 array ``(n,)``."""
        idx = np.asarray(indices)
        if idx.ndim != 1:
            idx = idx.reshape(-1)
        if idx.size and not np.issubdtype(idx.dtype, np.integer) and not np.all(np.mod(idx, 1) == 0):
            raise ArchitectureError("architecture indices must be integers")
        idx = idx.astype(np.int64, copy=False)
        if idx.size and (idx.min() < 0 or idx.max() >= self.size):
            bad = int(idx[(idx < 0) | (idx >= self.size)][0])
            raise ArchitectureError(
                f"architecture index {bad} out of range for space {self.name} (0..{self.size - 1})"
            )
        return idx

    def _unknown_encoding(self, kind: str) -> ArchitectureError:
        return ArchitectureError(
            f"unknown encoding {kind!r} for space {self.name}; available: {', '.join(self.encodings)}"
        )
