"""The pipeline's steps as plain functions (crawl, detect, publish): Airflow tasks and the CLI call
these; they are tested without Airflow."""
