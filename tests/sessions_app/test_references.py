from sessions_app.services import sequence_allocate
from tests.factories import AppointmentFactory


def test_appointments_get_consecutive_zero_padded_sa_references(db):
    first, second = AppointmentFactory(), AppointmentFactory()
    assert first.reference.startswith("SA-") and len(first.reference) == 9
    assert int(second.reference[3:]) == int(first.reference[3:]) + 1


def test_sequence_allocates_blocks_without_overlap(db):
    a = sequence_allocate(name="test", count=5)
    b = sequence_allocate(name="test")
    assert (a, b) == (1, 6)
