"""Writing many rows in one statement: COPY on PostgreSQL, a single bulk INSERT elsewhere.

Rows are tuples of database-ready values (str, int, Decimal, date, datetime, bool, None) for the named fields;
every other column takes the model field's default. Each function's `copy` (or `array`) keyword picks the path:
None (the default) takes PostgreSQL's own on PostgreSQL and the ORM's elsewhere; tests run both on PostgreSQL and
compare what they wrote (tests/invoicing/test_bulk_paths.py).
"""

import time

from django.db import connection
from django.utils import timezone


def _columns(model, names):
    fields = {f.name: f for f in model._meta.concrete_fields}
    fields.update({f.attname: f for f in model._meta.concrete_fields})
    given = [fields[name] for name in names]
    rest = [f for f in model._meta.concrete_fields if f not in given and not f.primary_key]
    now = timezone.now()
    defaults = []
    for field in rest:
        value = now if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False) else field.get_default()
        defaults.append(field.get_db_prep_save(value, connection))
    return given, rest, tuple(defaults)


def _copy(model, columns, rows):
    names = ", ".join(connection.ops.quote_name(f.column) for f in columns)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({names}) FROM STDIN"
    started = time.monotonic()
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
    if connection.queries_logged:  # so query counts see it like any other statement
        connection.queries_log.append({"sql": f"{sql} -- {len(rows)} rows", "time": f"{time.monotonic() - started:.3f}"})


def _on_postgresql(choice: bool | None) -> bool:
    return connection.vendor == "postgresql" if choice is None else choice


def insert_rows(model, names: list[str], rows: list[tuple], *, copy: bool | None = None) -> None:
    if not rows:
        return
    if _on_postgresql(copy):
        given, rest, defaults = _columns(model, names)
        _copy(model, given + rest, [row + defaults for row in rows])
    else:
        model.objects.bulk_create([model(**dict(zip(names, row))) for row in rows])


def insert_rows_returning_ids(model, names: list[str], rows: list[tuple], *, copy: bool | None = None) -> list[int]:
    """As insert_rows, and give back the new rows' ids in order."""
    if not rows:
        return []
    if not _on_postgresql(copy):
        return [obj.pk for obj in model.objects.bulk_create([model(**dict(zip(names, row))) for row in rows])]
    pk = model._meta.pk
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, pk.column, len(rows)],
        )
        ids = [row[0] for row in cursor.fetchall()]
    given, rest, defaults = _columns(model, names)
    _copy(model, [pk] + given + rest, [(pk_value,) + row + defaults for pk_value, row in zip(ids, rows)])
    return ids


def insert_history(model, ids: list[int], *, history_type: str, change_reason: str, user_id: int | None = None,
                   array: bool | None = None):
    """The audit trail (django-simple-history's table) of rows written in bulk, which its signals never see:
    one historical row per id, copied by the database from the row as it is stored now: in one statement on
    PostgreSQL (`= ANY(array)`), elsewhere one per 500 ids (SQLite limits a statement's parameters)."""
    if not ids:
        return
    history = model.history.model
    quote = connection.ops.quote_name
    sources = [field.column for field in history.tracked_fields]
    targets = [history._meta.get_field(field.name).column for field in history.tracked_fields]
    targets += [history._meta.get_field(name).column
                for name in ("history_date", "history_type", "history_change_reason", "history_user")]
    sql = (f"INSERT INTO {quote(history._meta.db_table)} ({', '.join(map(quote, targets))}) "
           f"SELECT {', '.join(map(quote, sources))}, %s, %s, %s, %s FROM {quote(model._meta.db_table)} "
           f"WHERE {quote(model._meta.pk.column)} ")
    values = [connection.ops.adapt_datetimefield_value(timezone.now()), history_type, change_reason, user_id]
    with connection.cursor() as cursor:
        if _on_postgresql(array):
            cursor.execute(sql + "= ANY(%s)", [*values, list(ids)])
            return
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            cursor.execute(sql + f"IN ({', '.join(['%s'] * len(chunk))})", [*values, *chunk])
