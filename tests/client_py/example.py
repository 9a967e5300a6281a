import time

from casesvc_client import Case, CasesApi, CaseStatus


def create_and_wait(api: CasesApi) -> Case:
    """Create a case, then poll it until complete, waiting as long as Retry-After says."""
    response = api.create_case_with_http_info()
    case = response.data
    while case.status != CaseStatus.COMPLETE:
        time.sleep(int((response.headers or {}).get("Retry-After", "1")))
        response = api.get_case_with_http_info(case.case_id)
        case = response.data
    return case
