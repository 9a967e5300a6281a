"""Scope cases to the API client that created them: each client reads and lists its own, and
idempotency keys are unique per client. Existing cases belong to the default client (the one
client while tokens are off, and the one a bare token names)."""

from peewee import CharField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("cases", "client", CharField(max_length=64, default="default")),
        migrator.drop_index("cases", "cases_idempotency_key"),
        migrator.add_index("cases", ("client", "idempotency_key"), unique=True),
        migrator.add_index("cases", ("client", "created_at", "id")),
    )


def down(migrator, db):
    # Fails (and changes nothing) if two clients used one idempotency key meanwhile.
    migrator.migrate(
        migrator.drop_index("cases", "cases_client_created_at_id"),
        migrator.drop_index("cases", "cases_client_idempotency_key"),
        migrator.add_index("cases", ("idempotency_key",), unique=True),
        migrator.drop_column("cases", "client"),
    )
