// The problem examples of the OpenAPI document are the sentences the server answers with: a code without one was shown
// as "Refused: invitation expired." where the server says "This invitation link has expired (links are valid for 48
// hours); ask for it to be resent." (probe 65 F8). EXAMPLE_DETAIL is a Record of every code (a new code without its
// sentence does not compile); here each example of the document as /docs/openapi.json serves it is checked.
import type { OpenAPIObject } from '@nestjs/swagger';
import { buildOpenApiDocument } from '../../openapi-main';
import { EXAMPLE_DETAIL, HTTP_STATUS_OF, type ProblemCode, exampleOf, statusOf } from './openapi';
import { STATUS_OF } from './problem';

interface Example {
  at: string;
  status: string;
  name: string;
  value: { status?: unknown; code?: unknown; detail?: unknown };
}

/** every problem+json example of every operation's answers, with where it is */
function problemExamples(document: OpenAPIObject): Example[] {
  const found: Example[] = [];
  for (const [path, item] of Object.entries(document.paths))
    for (const [method, operation] of Object.entries(item as Record<string, { responses?: Record<string, { content?: Record<string, { examples?: Record<string, { value: Example['value'] }> }> }> }>))
      for (const [status, response] of Object.entries(operation.responses ?? {}))
        for (const [name, example] of Object.entries(response.content?.['application/problem+json']?.examples ?? {}))
          found.push({ at: `${method.toUpperCase()} ${path}`, status, name, value: example.value });
  return found;
}

const ALL_CODES = [...new Set([...Object.keys(STATUS_OF), ...Object.keys(HTTP_STATUS_OF)])] as ProblemCode[];

describe('OpenAPI problem examples', () => {
  let document: OpenAPIObject;
  beforeAll(async () => {
    document = await buildOpenApiDocument();
  });

  it('probe 65 F8: every documented problem example says what the server says, with its code and status (no "Refused: …" placeholder)', () => {
    const examples = problemExamples(document);
    expect(examples.length).toBeGreaterThan(500);
    const placeholders = examples.filter((e) => typeof e.value.detail !== 'string' || e.value.detail.startsWith('Refused:') || e.value.detail.length < 20);
    expect(placeholders.map((e) => `${e.at} ${e.status} ${e.name}: ${String(e.value.detail)}`)).toEqual([]);
    const disagreeing = examples.filter((e) => e.name !== e.value.code || e.value.status !== statusOf(e.name as ProblemCode) || String(e.value.status) !== e.status);
    expect(disagreeing.map((e) => `${e.at} ${e.status} ${e.name}: ${String(e.value.code)} ${String(e.value.status)}`)).toEqual([]);
    // the finding's operation: its 410s as the server answers them
    const accept = examples.filter((e) => e.at === 'POST /v1/invitations/accept');
    expect(accept.find((e) => e.name === 'INVITATION_EXPIRED')?.value.detail).toBe('This invitation link has expired (links are valid for 48 hours); ask for it to be resent.');
    expect(accept.find((e) => e.name === 'INVITATION_LINK_SUPERSEDED')?.value.detail).toBe('This link was replaced by a newer one; use the link from the latest email.');
  });

  it('probe 65 F8: every problem code has its own example sentence and a status', () => {
    expect(ALL_CODES.length).toBeGreaterThan(60);
    expect(ALL_CODES.filter((code) => !EXAMPLE_DETAIL[code] || EXAMPLE_DETAIL[code].startsWith('Refused:'))).toEqual([]);
    expect(ALL_CODES.filter((code) => typeof statusOf(code) !== 'number')).toEqual([]);
    for (const code of ALL_CODES) expect(exampleOf(code)).toMatchObject({ code, status: statusOf(code), detail: EXAMPLE_DETAIL[code] });
    // no sentence serves two codes: each says its own refusal
    const byDetail = new Map<string, ProblemCode[]>();
    for (const code of ALL_CODES) byDetail.set(EXAMPLE_DETAIL[code], [...(byDetail.get(EXAMPLE_DETAIL[code]) ?? []), code]);
    expect([...byDetail.values()].filter((codes) => codes.length > 1)).toEqual([]);
  });
});

describe('OpenAPI CSV examples', () => {
  it('probe 85 F4: every text/csv example has as many fields in each row as its header names (parsed with csv-parse, as a client would)', async () => {
    const { parse } = await import('csv-parse/sync');
    const document = await buildOpenApiDocument();
    const examples: { at: string; csv: string }[] = [];
    for (const [path, item] of Object.entries(document.paths))
      for (const [method, operation] of Object.entries(item as Record<string, { responses?: Record<string, { content?: Record<string, { example?: unknown }> }> }>))
        for (const response of Object.values(operation.responses ?? {})) {
          const example = response.content?.['text/csv']?.example;
          if (typeof example === 'string') examples.push({ at: `${method.toUpperCase()} ${path}`, csv: example });
        }
    // (the organization's CSVs document their columns in their descriptions, without an example)
    expect(examples.map((e) => e.at).sort()).toEqual(['GET /v1/workspaces/{ws}/history', 'GET /v1/workspaces/{ws}/members/export.csv', 'GET /v1/workspaces/{ws}/reports/presence']);
    const short = examples.flatMap(({ at, csv }) => {
      const [header, ...rows] = parse(csv, { relaxColumnCount: true }) as string[][];
      return rows.filter((row) => row.length !== header!.length).map((row) => `${at}: ${row.length} fields under ${header!.length} columns`);
    });
    expect(short).toEqual([]);
  });
});

describe('OpenAPI query parameters', () => {
  it('probe 85 F7: every page limit is an integer, as the server validates it (a client typed from the document sent fractions)', async () => {
    const document = await buildOpenApiDocument();
    const limits: string[] = [];
    for (const [path, item] of Object.entries(document.paths))
      for (const [method, operation] of Object.entries(item as Record<string, { parameters?: { name: string; in: string; schema?: { type?: string } }[] }>))
        for (const parameter of operation.parameters ?? []) if (parameter.in === 'query' && parameter.name === 'limit') limits.push(`${method.toUpperCase()} ${path}: ${parameter.schema?.type}`);
    expect(limits.length).toBeGreaterThanOrEqual(10);
    expect(limits.filter((l) => !l.endsWith(': integer'))).toEqual([]);
  });
});
