-- The three databases of the closed loop, on one PostgreSQL server (any 13 or later):
--   mlflow       the MLflow tracking server's runs and model registry
--   prefect      the Prefect server's flows, deployments, runs and events
--   predictions  the service's prediction log, the labels from /feedback and the audit trail
-- Run it once as a user allowed to create databases: `bash deploy/run.sh databases`, or let the
-- postgres container of compose.yaml run it at its first start. Each server creates its own tables.
CREATE DATABASE mlflow;
CREATE DATABASE prefect;
CREATE DATABASE predictions;
