/**
 * What an id looks like wherever the API takes one: a path's, a payload's, `X-Actor-Id` (OpenAPI says so too): one
 * pattern, so that the checks and the documents cannot drift apart (probe 103 F2: it was written out four times).
 * Kept apart from dtos.ts so that the audit CLI's field errors import it without the DTOs.
 */
export const ID_PATTERN = /^[\w.:@-]{1,128}$/;
