"""Alembic environment: migrations run on the connection mailbot hands over (see mailbot.db.migrate)."""

from alembic import context

from mailbot.db.schema import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
