"""Let a client retry `POST /cases` safely: each Idempotency-Key names at most one case."""

from peewee import CharField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("cases", "idempotency_key", CharField(max_length=128, null=True)),
        migrator.add_index("cases", ("idempotency_key",), unique=True),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("cases", "cases_idempotency_key"),
        migrator.drop_column("cases", "idempotency_key"),
    )
