"""Index idempotency keys only where one was sent: most creates send none, and each then wrote
an index entry for its empty key. Still unique per client."""

from peewee import SQL


def up(migrator, db):
    migrator.migrate(
        migrator.drop_index("cases", "cases_client_idempotency_key"),
        migrator.add_index(
            "cases",
            ("client", "idempotency_key"),
            unique=True,
            where=SQL("idempotency_key IS NOT NULL"),
            name="cases_client_idempotency_key_sent",
        ),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("cases", "cases_client_idempotency_key_sent"),
        migrator.add_index("cases", ("client", "idempotency_key"), unique=True),
    )
