"""Each case stores when each of its later stages begins (pluggable lifecycles, issue 24): a
case's timing is decided once, by the lifecycle, when it is created or moved, and the list
filter reads it as it is. Cases made before keep the default timing (processing 10 s and
complete 30 s after their timeline start). The list filter's index moves from the timeline
start to (complete_at, processing_at): every status band reads complete_at first."""

import datetime as dt

from peewee import Field, PostgresqlDatabase

PROCESSING = dt.timedelta(seconds=10)
COMPLETE = dt.timedelta(seconds=30)
BATCH = 10_000


class UTCDateTimeField(Field):
    # Frozen copy of casesvc.models.UTCDateTimeField's storage type.
    field_type = "TIMESTAMPTZ"


def _text(instant):
    return instant.astimezone(dt.UTC).isoformat(sep=" ", timespec="microseconds")


def _backfill(db):
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql(
            "UPDATE cases SET processing_at = timeline_started_at + interval '10 seconds', "
            "complete_at = timeline_started_at + interval '30 seconds'"
        )
        return
    # SQLite keeps instants as fixed-width UTC text: computed here, a batch at a time.
    rows = db.execute_sql("SELECT id, timeline_started_at FROM cases").fetchall()
    for start in range(0, len(rows), BATCH):
        updates = []
        for case_id, started in rows[start : start + BATCH]:
            began = dt.datetime.fromisoformat(started)
            began = began if began.tzinfo else began.replace(tzinfo=dt.UTC)
            updates.append((_text(began + PROCESSING), _text(began + COMPLETE), case_id))
        db.cursor().executemany(
            "UPDATE cases SET processing_at = ?, complete_at = ? WHERE id = ?", updates
        )


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("cases", "processing_at", UTCDateTimeField(null=True)),
        migrator.add_column("cases", "complete_at", UTCDateTimeField(null=True)),
        migrator.drop_index("cases", "case_timeline_started_at"),
    )
    _backfill(db)
    migrator.migrate(
        migrator.add_index(
            "cases", ("complete_at", "processing_at"), False, name="cases_stage_instants"
        ),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("cases", "cases_stage_instants"),
        migrator.drop_column("cases", "processing_at"),
        migrator.drop_column("cases", "complete_at"),
        migrator.add_index(
            "cases", ("timeline_started_at",), False, name="case_timeline_started_at"
        ),
    )
