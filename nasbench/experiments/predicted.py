"""The ``surrogate`` backend's former home: :func:`predicted_table` lives beside the
surrogates now (:mod:`surrogates.predicted`), :func:`search_predicted` beside
``search_table`` (:mod:`nasbench.experiments.search`). Both names still import from here."""

from __future__ import annotations

from nasbench.experiments.search import search_predicted
from surrogates.predicted import predicted_table

__all__ = ["predicted_table", "search_predicted"]
