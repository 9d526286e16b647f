/**
 * The subjects a UserDeleted's metadata says its deletion forgot (`erasedSubjects`: an array, or its JSON text from
 * older writers). Pseudonymous ids, readable by anyone who reads the log: the API's erasure pass at start, each
 * replica's memory, and the projections that erase the addresses they keep (docs/rules.md#rule-12).
 */
export function erasedSubjectsOf(metadata: Record<string, unknown>): string[] {
  const recorded = metadata.erasedSubjects;
  const subjects: unknown = typeof recorded === 'string' ? JSON.parse(recorded) : recorded;
  return Array.isArray(subjects) ? subjects.filter((s): s is string => typeof s === 'string') : [];
}
