"""The CRM facts the qualified pools read (``datacenter.schema.CRM_FACT_FILES``)."""

from datetime import date

import pyarrow.parquet as pq

from brokercrm.datacenter import schema, warehouse
from brokercrm.kyc.services import (
    assessments_apply_counter,
    crm_facts_export,
    knowledge_test_record,
    recognition_decide,
    recognition_request,
    risk_assessment_submit,
)
from brokercrm.kyc.tests.factories import typical


def test_the_export_holds_crm_facts_only_in_order(world, questionnaire, tmp_path):
    am_a1, am_a2 = world.user("am_a1"), world.user("am_a2")
    a1, a2 = world.customers["a1"], world.customers["a2"]
    risk_assessment_submit(actor=am_a2, customer=a2, answers=typical(questionnaire), assessed_on=date(2025, 1, 2))
    risk_assessment_submit(actor=am_a1, customer=a1, answers=typical(questionnaire, q10=[1]), assessed_on=date(2025, 2, 1))
    risk_assessment_submit(actor=am_a1, customer=a1, answers=typical(questionnaire), assessed_on=date(2025, 1, 5))
    # a counter assessment is not a CRM fact
    row = {"customer_no": a1.customer_no, "risk_level": "C5", "risk_expiry": date(2026, 1, 1), "investor_class": "ordinary"}
    assessments_apply_counter([row], date(2025, 3, 1))
    request = recognition_request(actor=am_a1, customer=a1, kind="recognise_ii", annual_income="500000", experience_years="2")
    recognition_decide(actor=world.user("bm_a"), customer=a1, recognition_id=request.pk, approve=True, effective_on=date(2025, 2, 3))
    rejected = recognition_request(actor=am_a2, customer=a2, kind="recognise_ii")
    recognition_decide(actor=world.user("bm_a"), customer=a2, recognition_id=rejected.pk, approve=False)
    knowledge_test_record(actor=am_a1, customer=a1, score=80, taken_on=date(2025, 2, 5))
    knowledge_test_record(actor=am_a2, customer=a2, score=79, taken_on=date(2025, 2, 5))

    crm_facts_export(data_dir=tmp_path)
    folder = warehouse.crm_facts_path(tmp_path)
    assert folder == tmp_path / "warehouse" / "crm"
    assessments = pq.read_table(folder / "assessments.parquet")
    assert assessments.schema.equals(schema.CRM_ASSESSMENTS_SCHEMA, check_metadata=False)
    assert assessments.to_pylist() == [
        {"customer_no": "10000001", "assessed_on": date(2025, 1, 5), "risk_level": "C4", "risk_expiry": date(2027, 1, 4),
         "invest_horizon": "medium", "invest_varieties": "fixed_income,equity"},
        {"customer_no": "10000001", "assessed_on": date(2025, 2, 1), "risk_level": "C0", "risk_expiry": date(2027, 1, 31),
         "invest_horizon": "medium", "invest_varieties": "fixed_income,equity"},
        {"customer_no": "10000003", "assessed_on": date(2025, 1, 2), "risk_level": "C4", "risk_expiry": date(2027, 1, 1),
         "invest_horizon": "medium", "invest_varieties": "fixed_income,equity"},
    ]  # fmt: skip
    classes = pq.read_table(folder / "investor_classes.parquet")
    assert classes.to_pylist() == [{"customer_no": "10000001", "effective_on": date(2025, 2, 3), "investor_class": "professional_ii"}]
    tests = pq.read_table(folder / "knowledge_tests.parquet")
    assert tests.to_pylist() == [{"customer_no": "10000001", "test": "options", "passed_on": date(2025, 2, 5)}]
    # the pipeline's reader takes them as they are
    assert warehouse.read_crm_facts(tmp_path)["assessments.parquet"].num_rows == 3
    assert not list(folder.glob("*.tmp"))


def test_an_empty_crm_writes_empty_files_with_the_schema(db, tmp_path):
    crm_facts_export(data_dir=tmp_path)
    for name, expected in schema.CRM_FACT_FILES.items():
        table = pq.read_table(warehouse.crm_facts_path(tmp_path) / name)
        assert table.num_rows == 0 and table.schema.names == expected.names
