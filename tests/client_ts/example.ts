import { CasesApi, CaseStatus, type Case } from "./api";

/** Create a case, then poll it until complete, waiting as long as Retry-After says. */
export async function createAndWait(api: CasesApi): Promise<Case> {
  let response = await api.createCaseRaw({});
  let current = await response.value();
  while (current.status !== CaseStatus.Complete) {
    const seconds = Number(response.raw.headers.get("Retry-After") ?? "1");
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    response = await api.getCaseRaw({ caseId: current.caseId });
    current = await response.value();
  }
  return current;
}
