"""Layer 1, the core: errors, atomic file I/O and JSON, typed configs, resume manifests,
resource checks and the metric vocabulary. It imports nothing else of the project.
"""
