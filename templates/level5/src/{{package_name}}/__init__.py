"""Automated training and deployment: the tracked pipeline of level 2 (config, data, features,
train, evaluate, tracking), a registry with a promotion gate (registry, promotion, lineage), a
Prefect flow (pipeline), a served model (service, prediction_log) and a drift report (monitor).

Run it with `python -m <this package> demo`; see README.md for every command.
"""
