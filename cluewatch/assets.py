"""Airflow assets the DAGs hand to each other (data-aware scheduling)."""
from airflow.sdk import Asset

LISTINGS = Asset(name="cluewatch_listings", uri="cluewatch://postgres/listings")
OUTBOX = Asset(name="cluewatch_outbox", uri="cluewatch://postgres/outbox")
# A new (registry, detector set) pair: listing versions scored before must be re-scored (rescan DAG).
REGISTRY = Asset(name="cluewatch_registry", uri="cluewatch://postgres/scoring_versions")
