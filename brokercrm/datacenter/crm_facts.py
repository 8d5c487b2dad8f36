"""The CRM facts the qualified pools read, refreshed before a pipeline run.

The KYC app records risk assessments, professional-investor recognitions and knowledge tests in
the OLTP database; the pipeline reads them from Parquet files under
``warehouse.crm_facts_path(data_dir)`` (``schema.CRM_FACT_FILES``), which
``brokercrm.kyc.services.crm_facts_export`` writes. A run that finds no files sees no CRM facts.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

#: where the KYC app's export lives, and its name
KYC_SERVICES = "brokercrm.kyc.services"
KYC_EXPORT = "crm_facts_export"


def crm_facts_refresh(*, data_dir: Path) -> bool:
    """Write the CRM facts for the next pipeline run (DOMAIN.md: "the latest assessment wins
    whether it came from the counter or the CRM"). Needs Django set up. Returns False when the
    KYC app has no export (then the pools see no CRM facts); errors of the export propagate."""
    if importlib.util.find_spec(KYC_SERVICES) is None:
        return False
    export = getattr(importlib.import_module(KYC_SERVICES), KYC_EXPORT, None)
    if export is None:
        return False
    export(data_dir=Path(data_dir))
    return True
