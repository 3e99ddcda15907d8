"""Alembic environment: plain SQL migrations, no ORM metadata (the store uses parameterised SQL)."""
from alembic import context
from sqlalchemy import create_engine, pool, text

config = context.config


def run_migrations_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=False)
        with context.begin_transaction():
            # Serialise concurrent migrators (the demo, tests and Airflow tasks may all call migrate);
            # the version table is read after the lock is held.
            connection.execute(text("SELECT pg_advisory_xact_lock(7368711)"))
            context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
