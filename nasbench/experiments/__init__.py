"""Layer 7, experiments: wiring strategies, surrogates and tables into the jobs users run
(``search``, ``compare``, ``ablate``, ``explore``, ``leaderboard``) and their reports.
"""
