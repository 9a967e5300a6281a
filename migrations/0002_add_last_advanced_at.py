"""Record when a case was last fast-forwarded (`casesvc advance`)."""

from peewee import Field


class UTCDateTimeField(Field):
    # Frozen copy of casesvc.models.UTCDateTimeField's storage type.
    field_type = "TIMESTAMPTZ"


def up(migrator, db):
    migrator.migrate(migrator.add_column("cases", "last_advanced_at", UTCDateTimeField(null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("cases", "last_advanced_at"))
