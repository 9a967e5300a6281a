"""Create the cases table and the indexes its list query uses."""

from peewee import CharField, Field, Model


class UTCDateTimeField(Field):
    # Frozen copy of casesvc.models.UTCDateTimeField's storage type.
    field_type = "TIMESTAMPTZ"


def _models(db):
    class Case(Model):
        id = CharField(primary_key=True, max_length=64)
        created_at = UTCDateTimeField()
        timeline_started_at = UTCDateTimeField(index=True)
        status = CharField(max_length=16, default="submitted")
        determination = CharField(max_length=64)

        class Meta:
            database = db
            table_name = "cases"
            indexes = ((("created_at", "id"), False),)

    return [Case]


def up(migrator, db):
    db.create_tables(_models(db))


def down(migrator, db):
    db.drop_tables(_models(db))
