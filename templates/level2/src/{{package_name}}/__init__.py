"""A repeatable, tracked training pipeline: config, data, features, train, evaluate, tracking.

Run it with `python -m <this package> demo`; see README.md for every command.
"""
