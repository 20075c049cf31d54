"""Layer 3, tables and queries: the result table (parquet + provenance), its search and
test views, importers of third-party results and the shipped default table.

    from nasbench.tables import Benchmark, ResultTable, TestOracle
"""

from __future__ import annotations

from nasbench.tables.benchmark import Benchmark, TestOracle
from nasbench.tables.table import ResultTable

__all__ = ["Benchmark", "ResultTable", "TestOracle"]
