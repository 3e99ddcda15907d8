#!/bin/sh
# Runs once, when the postgres service initialises an empty data volume (the official image runs
# /docker-entrypoint-initdb.d/*). Airflow keeps its metadata in its own database next to ours, so
# `airflow db migrate` and our Alembic migrations never touch each other's tables.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE DATABASE airflow OWNER "$POSTGRES_USER";
SQL
