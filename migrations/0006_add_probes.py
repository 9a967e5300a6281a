"""A table for /readyz to write to: readiness means the database takes writes, and only a
committed write proves that (a full disk or a read-only database still answers reads)."""

from peewee import CharField, Field, Model


class UTCDateTimeField(Field):
    # Frozen copy of casesvc.models.UTCDateTimeField's storage type.
    field_type = "TIMESTAMPTZ"


def _models(db):
    class Probe(Model):
        name = CharField(primary_key=True, max_length=64)
        checked_at = UTCDateTimeField()

        class Meta:
            database = db
            table_name = "probes"

    return [Probe]


def up(migrator, db):
    db.create_tables(_models(db))


def down(migrator, db):
    db.drop_tables(_models(db))
