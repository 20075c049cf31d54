"""nasbench: fast, honest benchmarks for neural architecture search.

Data flows one way: search space -> trainer -> table -> surrogate -> strategy -> report.
Importing this package is light; JAX is imported only by the trainer.
"""

from __future__ import annotations

__version__ = "0.1.0"
