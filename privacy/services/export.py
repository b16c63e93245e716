"""The subject access export: a ZIP, written as it is sent, holding `personal-data.json` (every section's rows),
`summary.html` (the same, to read) and the PDFs of the documents addressed to the person."""

import json
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import Iterator

from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from privacy.models import PersonalDataExport, Subject
from privacy.selectors import SECTIONS, documents

HTML_ROWS_PER_TABLE = 500
FLUSH_BYTES = 64 * 1024
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


class _Pipe:
    """The unseekable file the ZIP is written to: what is written waits here until the response takes it."""

    def __init__(self):
        self.chunks, self.size = [], 0

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self):
        pass

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks, self.size = [], 0
        return data


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _shown(value) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    # Formatted by hand: Django's date_format looks up the language's formats for every value (thousands of them).
    if isinstance(value, datetime):
        local = timezone.localtime(value)
        return f"{local.day} {MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"
    if isinstance(value, date):
        return f"{value.day} {MONTHS[value.month - 1]} {value.year}"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value) or "-"
    return str(value)


def _table(keys, rows) -> bytes:
    return render_to_string("privacy/summary_table.html", {"labels": [_label(key) for key in keys],
                                                           "rows": rows}).encode()


def _json_value(value):
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    return value


def subject_label(kind: str, person) -> str:
    return f"{Subject(kind).label} {person.pk}"


@transaction.atomic
def export_record(*, kind: str, person, acting_user) -> PersonalDataExport:
    return PersonalDataExport.objects.create(subject_kind=kind, subject_id=person.pk, requested_by=acting_user)


def personal_data_export(*, kind: str, person, acting_user) -> tuple[str, Iterator[bytes]]:
    """Records the export (who, when, whom), then returns the ZIP's file name and its bytes as they are made.

    Each section is read twice (once for the JSON, once for the summary), each time in one query, however many
    rows it has; a file's bytes are sent every 64 KiB."""
    record = export_record(kind=kind, person=person, acting_user=acting_user)
    exported_at = timezone.localtime(record.requested_at)
    filename = f"personal-data-{kind}-{person.pk}-{exported_at:%Y-%m-%d}.zip"
    return filename, _zip(kind, person, exported_at)


def _zip(kind, person, exported_at) -> Iterator[bytes]:
    pipe = _Pipe()
    sections = SECTIONS[kind]
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("personal-data.json", "w", force_zip64=True) as entry:
            head = {"person": subject_label(kind, person), "exported_at": exported_at.isoformat()}
            entry.write(json.dumps(head, cls=DjangoJSONEncoder)[:-1].encode())
            for section in sections:
                entry.write(f', "{section.name}": ['.encode())
                for number, row in enumerate(section.rows(person)):
                    row = {key: _json_value(value) for key, value in row.items()}
                    entry.write((", " if number else "").encode() + json.dumps(row, cls=DjangoJSONEncoder).encode())
                    if pipe.size >= FLUSH_BYTES:
                        yield pipe.take()
                entry.write(b"]")
            entry.write(b"}")
        yield pipe.take()

        with archive.open("summary.html", "w", force_zip64=True) as entry:
            entry.write(render_to_string("privacy/summary_start.html", {
                "person": subject_label(kind, person), "exported_at": exported_at, "sections": sections,
            }).encode())
            for section in sections:
                entry.write(render_to_string("privacy/summary_section.html", {"section": section}).encode())
                if not section.in_summary:
                    continue
                keys, chunk = None, []
                for row in section.rows(person):
                    keys = keys or list(row)
                    chunk.append([_shown(row[key]) for key in keys])
                    if len(chunk) == HTML_ROWS_PER_TABLE:
                        entry.write(_table(keys, chunk))
                        chunk = []
                        if pipe.size >= FLUSH_BYTES:
                            yield pipe.take()
                if chunk or keys is None:
                    entry.write(_table(keys or [], chunk))
            entry.write(render_to_string("privacy/summary_end.html", {}).encode())
        yield pipe.take()

        for name, stored in documents(kind, person):
            if not default_storage.exists(stored):
                continue
            with default_storage.open(stored, "rb") as source, archive.open(name, "w") as entry:
                while block := source.read(FLUSH_BYTES):
                    entry.write(block)
                    yield pipe.take()
    yield pipe.take()
