"""Named errors. Every error a user can cause derives from :class:`NasbenchError`.

The CLI turns a :class:`NasbenchError` into a one-line message and exit code 2;
anything else is an internal error (exit code 1).
"""

from __future__ import annotations


class NasbenchError(Exception):
    """Base class for errors caused by bad input (exit code 2 in the CLI)."""


class ArchitectureError(NasbenchError, ValueError):
    """An architecture string, index or value is malformed or not in the space."""


class UnknownSpaceError(NasbenchError, KeyError):
    """A search-space name is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class TableFormatError(NasbenchError):
    """A table file is missing, corrupt, truncated or inconsistent with its metadata."""


class QueryError(NasbenchError, LookupError):
    """Base class for failed benchmark queries."""


class UnknownArchitectureError(QueryError):
    """The architecture (and every architecture isomorphic to it) is not in the table."""


class EpochNotAvailableError(QueryError):
    """The requested epoch (fidelity) is not stored in the table."""


class MetricNotAvailableError(QueryError):
    """The requested metric is not stored, or not visible to a search."""


class SeedNotAvailableError(QueryError):
    """The requested seed is not stored in the table."""


class ImportDataError(NasbenchError):
    """An input CSV for an importer is malformed (missing columns, bad values)."""


class DatasetError(NasbenchError):
    """A training dataset is unknown or malformed."""


class ConfigError(NasbenchError):
    """A configuration value (CLI option, recipe, config file) is invalid."""


class TrainingDivergedError(NasbenchError):
    """Training produced a non-finite loss (e.g. a learning rate too high for the network)."""
