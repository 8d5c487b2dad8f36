"""Acceptance: the worked example's event on SH600036 and SZ000858 (negative, impact 4), recorded
and exported through the operator's verbs, equals examples/sample/expected/event-impact.csv on its
columns (rank, customer_no, exposure, exposure_ratio, priority)."""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from brokercrm.cli import app
from brokercrm.datacenter.services import datacenter_publish
from brokercrm.datacenter.tests import test_publish_and_pages as _datacenter
from brokercrm.org.models import AuditEvent

#: the data center's fixture (the worked example ingested and computed through the CLI), reused
sample_warehouse = _datacenter.sample_warehouse
SAMPLE = _datacenter.SAMPLE

pytestmark = pytest.mark.slow
EXPECTED = SAMPLE / "expected" / "event-impact.csv"


@pytest.fixture
def published(sample_warehouse, db, settings):
    settings.DATA_DIR = sample_warehouse
    datacenter_publish(data_dir=sample_warehouse, window=10)
    from brokercrm.config import get_config

    get_config.cache_clear()
    yield CliRunner(env={"BROKERCRM_DATA_DIR": str(sample_warehouse)})
    get_config.cache_clear()


def test_the_event_impact_export_equals_the_worked_example(published, sample_warehouse):
    created = published.invoke(
        app, ["event", "create", "--title", "T", "--securities", "SH600036,SZ000858", "--direction", "negative", "--impact", "4"]
    )
    assert created.exit_code == 0, created.output
    event_id = created.output.strip().splitlines()[-1]
    assert event_id.isdigit()
    out = sample_warehouse / "event-impact.csv"
    result = published.invoke(app, ["export", "event-impact", "--event", event_id, "--out", str(out)])
    assert result.exit_code == 0, result.output
    with open(out, encoding="utf-8", newline="") as handle:
        got = list(csv.DictReader(handle))
    with open(EXPECTED, encoding="utf-8", newline="") as handle:
        expected = list(csv.DictReader(handle))
    columns = list(expected[0])
    assert [{c: row[c] for c in columns} for row in got] == expected
    assert list(got[0]) == ["rank", "customer_no", "account_manager", "exposure", "exposure_ratio", "priority", "suggestion"]
    assert AuditEvent.objects.filter(action="customer_export", object_type="event_impact", object_id=event_id).exists()
    # an unknown event is a clean error
    missing = published.invoke(app, ["export", "event-impact", "--event", "999", "--out", str(out)])
    assert missing.exit_code == 2
