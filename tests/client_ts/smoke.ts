// Smoke program for the generated typescript-fetch client, run by tests/system/test_clients.py:
// node dist/smoke.js BASE_URL. Any failed check exits non-zero.
import assert from "node:assert/strict";

import {
  ApiErrorFromJSON,
  CasesApi,
  CaseStatus,
  CaseView,
  Configuration,
  ResponseError,
  type CaseCreate,
  type CaseListItem,
} from "./api";
import { createAndWait } from "./example";

async function allPages(api: CasesApi, view: CaseView): Promise<CaseListItem[]> {
  const items: CaseListItem[] = [];
  let pageToken: string | undefined;
  do {
    const page = await api.listCases({ pageSize: 2, pageToken, view });
    assert.ok(page.cases.length <= 2);
    items.push(...page.cases);
    pageToken = page.nextPageToken ?? undefined;
  } while (pageToken !== undefined);
  return items;
}

async function main(basePath: string): Promise<void> {
  const api = new CasesApi(new Configuration({ basePath }));

  // createCase: a typed Case, submitted, with a null summary and a real Date.
  const created = await api.createCase();
  assert.equal(created.status, CaseStatus.Submitted);
  assert.equal(created.summary, null);
  assert.deepEqual(created.steps, []);
  assert.ok(created.createdAt instanceof Date && !Number.isNaN(created.createdAt.getTime()));

  // createCase with an Idempotency-Key: the same key again answers the same case, replayed.
  const keyed = await api.createCase({ idempotencyKey: "smoke-ts" });
  const replayed = await api.createCaseRaw({ idempotencyKey: "smoke-ts" });
  assert.equal((await replayed.value()).caseId, keyed.caseId);
  assert.equal(replayed.raw.headers.get("Idempotent-Replayed"), "true");

  // getCase: the same case.
  const fetched = await api.getCase({ caseId: created.caseId });
  assert.equal(fetched.caseId, created.caseId);

  // The README example: create, then poll until complete honouring Retry-After.
  const done = await createAndWait(api);
  assert.equal(done.isComplete, true);
  assert.equal(typeof done.summary, "string");
  const read = await api.getCase({ caseId: done.caseId });
  assert.ok(read.steps.length > 0);
  for (const step of read.steps) {
    assert.equal(typeof step.question, "string");
    assert.equal(typeof step.isFinal, "boolean");
    assert.ok(step.options.every((option) => typeof option.selected === "boolean"));
    assert.ok((step.logic ?? []).every((rule) => typeof rule.text === "string"));
    for (const evidence of step.evidence) {
      assert.equal(typeof evidence.pageNumber, "number");
      const when: Date | null = evidence.eventDatetime;
      assert.ok(when === null || !Number.isNaN(when.getTime()));
    }
  }
  assert.ok(read.steps.some((step) => step.evidence.some((e) => e.eventDatetime !== null)));

  // If-None-Match with the current ETag: a 304, which the client raises as a ResponseError.
  const etag = (await api.getCaseRaw({ caseId: done.caseId })).raw.headers.get("ETag");
  assert.ok(etag);
  const notModified = await api.getCase({ caseId: done.caseId, ifNoneMatch: etag }).then(
    () => assert.fail("getCase with the current ETag answered a body"),
    (err: unknown) => err,
  );
  assert.ok(notModified instanceof ResponseError);
  assert.equal(notModified.response.status, 304);

  // listCases: page through everything, two at a time, newest first, each case once.
  const third = await api.createCase();
  const listed = await allPages(api, CaseView.Basic);
  const ids = listed.map((item) => item.caseId);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of [created.caseId, done.caseId, third.caseId]) assert.ok(ids.includes(id));
  assert.ok(listed.every((item, i) => i === 0 || item.createdAt <= listed[i - 1].createdAt));
  assert.ok(listed.every((item) => item.steps === undefined));
  const full = await api.listCases({ status: CaseStatus.Complete, view: CaseView.Full });
  const fullDone = full.cases.find((item) => item.caseId === done.caseId);
  assert.ok(fullDone?.steps && fullDone.steps.length === read.steps.length);

  // An unknown case is the client's ResponseError, with the ApiError body.
  const missing = "case_000000000000000000000000";
  const error = await api.getCase({ caseId: missing }).then(
    () => assert.fail("getCase of an unknown id succeeded"),
    (err: unknown) => err,
  );
  assert.ok(error instanceof ResponseError);
  assert.equal(error.response.status, 404);
  const body = ApiErrorFromJSON(await error.response.json());
  assert.equal(body.code, 404);
  assert.equal(typeof body.message, "string");

  // createCase with its optional body: the sample named; an unknown one is a 422 that
  // lists the valid ones.
  const chosen = await api.createCase({ caseCreate: { sample: "lumbar-mri-met" } });
  assert.equal(chosen.procedureName, "MRI Lumbar Spine without Contrast");
  // The document lists the server's sample keys: another needs a cast to be sent at all.
  const stray = { sample: "no-such-sample" } as unknown as CaseCreate;
  const unknown = await api.createCase({ caseCreate: stray }).then(
    () => assert.fail("createCase with an unknown sample succeeded"),
    (err: unknown) => err,
  );
  assert.ok(unknown instanceof ResponseError);
  assert.equal(unknown.response.status, 422);
  const refusal = ApiErrorFromJSON(await unknown.response.json());
  assert.ok(refusal.message?.includes("lumbar-mri-met"));

  console.log(`typescript client: ok (${listed.length} cases listed, 404 is a ResponseError)`);
}

main(process.argv[2]).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
