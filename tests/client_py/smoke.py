"""Smoke program for the generated Python client, run by tests/system/test_clients.py in a
throwaway venv: ``python smoke.py BASE_URL``. Any failed check exits non-zero."""

import datetime as dt
import itertools
import sys

from casesvc_client import (
    ApiClient,
    CaseCreate,
    CaseListItem,
    CasesApi,
    CaseStatus,
    CaseView,
    Configuration,
)
from casesvc_client.exceptions import ApiException, NotFoundException
from example import create_and_wait


def header(headers: object, name: str) -> str | None:
    """A response header by name, in any case: the generated client hands headers over as a
    plain dict, and casesvc's server (granian) sends names in lower case, as HTTP allows."""
    return {k.lower(): v for k, v in dict(headers or {}).items()}.get(name.lower())


def all_pages(api: CasesApi, view: CaseView) -> list[CaseListItem]:
    items: list[CaseListItem] = []
    token = None
    while True:
        page = api.list_cases(page_size=2, page_token=token, view=view)
        assert len(page.cases) <= 2
        items.extend(page.cases)
        token = page.next_page_token
        if token is None:
            return items


def main(base_url: str) -> None:
    api = CasesApi(ApiClient(Configuration(host=base_url)))

    # create_case: a typed Case, submitted, with a null summary and an aware datetime.
    created = api.create_case()
    assert CaseStatus.SUBMITTED == created.status
    assert created.summary is None
    assert [] == created.steps
    assert isinstance(created.created_at, dt.datetime)
    assert created.created_at.tzinfo is not None

    # create_case with an Idempotency-Key: the same key again answers the same case, replayed.
    keyed = api.create_case(idempotency_key="smoke-py")
    replayed = api.create_case_with_http_info(idempotency_key="smoke-py")
    assert keyed.case_id == replayed.data.case_id
    assert "true" == header(replayed.headers, "Idempotent-Replayed")

    # get_case: the same case.
    assert created.case_id == api.get_case(created.case_id).case_id

    # The README example: create, then poll until complete honouring Retry-After.
    done = create_and_wait(api)
    assert done.is_complete
    assert isinstance(done.summary, str)
    read = api.get_case(done.case_id)
    assert read.steps
    for step in read.steps:
        assert isinstance(step.question, str)
        assert isinstance(step.is_final, bool)
        assert all(isinstance(option.selected, bool) for option in step.options)
        assert all(isinstance(rule.text, str) for rule in step.logic or [])
        for evidence in step.evidence:
            assert isinstance(evidence.page_number, int)
            assert evidence.event_datetime is None or evidence.event_datetime.tzinfo is not None
    assert any(e.event_datetime is not None for step in read.steps for e in step.evidence)

    # If-None-Match with the current ETag: a 304, which the client raises as an ApiException.
    etag = header(api.get_case_with_http_info(done.case_id).headers, "ETag")
    try:
        api.get_case(done.case_id, if_none_match=etag)
    except ApiException as exc:
        assert 304 == exc.status
    else:
        raise AssertionError("get_case with the current ETag answered a body")

    # list_cases: page through everything, two at a time, newest first, each case once.
    third = api.create_case()
    listed = all_pages(api, CaseView.BASIC)
    ids = [item.case_id for item in listed]
    assert len(ids) == len(set(ids))
    assert {created.case_id, done.case_id, third.case_id} <= set(ids)
    assert all(a.created_at >= b.created_at for a, b in itertools.pairwise(listed))
    assert all(item.steps is None for item in listed)
    full = api.list_cases(status=CaseStatus.COMPLETE, view=CaseView.FULL)
    full_done = next(item for item in full.cases if item.case_id == done.case_id)
    assert full_done.steps is not None
    assert len(read.steps) == len(full_done.steps)

    # An unknown case is the client's NotFoundException, with the ApiError body.
    try:
        api.get_case("case_000000000000000000000000")
    except NotFoundException as exc:
        assert 404 == exc.status
        assert exc.data is not None
        assert 404 == exc.data.code
        assert isinstance(exc.data.message, str)
    else:
        raise AssertionError("get_case of an unknown id succeeded")

    # create_case with its optional body: the sample named.
    chosen = api.create_case(case_create=CaseCreate(sample="lumbar-mri-met"))
    assert "MRI Lumbar Spine without Contrast" == chosen.procedure_name
    # The document lists the server's sample keys, so the client refuses another itself.
    try:
        CaseCreate(sample="no-such-sample")
    except ValueError as exc:
        assert "lumbar-mri-met" in str(exc)
    else:
        raise AssertionError("the client took a sample the server does not have")

    print(f"python client: ok ({len(listed)} cases listed, 404 is a NotFoundException)")


if __name__ == "__main__":
    main(sys.argv[1])
