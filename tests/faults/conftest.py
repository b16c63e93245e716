import pytest

from tests.faults.support import terminate_worker_backends
from tests.services import celery_workers, redis_server, worker  # noqa: F401 (fixtures)


@pytest.fixture(autouse=True)
def no_worker_connection_left_behind():
    """A killed worker's PostgreSQL backend can outlive it while it waits on a lock: end it before the database
    is flushed for the next test."""
    yield
    terminate_worker_backends()
