/**
 * Checks an HTTP answer against the OpenAPI document that describes it: the status and content type must be
 * documented for the operation, and the body must match the schema. Strict where the document is silent: an object
 * schema with properties and no `additionalProperties` accepts no other field, so a storage field (`_id`, `kind`…)
 * leaking into an answer fails. Covers the JSON Schema subset the document uses ($ref, allOf, oneOf, type, nullable,
 * enum, required, properties, additionalProperties, items, format).
 */
export interface Schema {
  $ref?: string;
  type?: string;
  nullable?: boolean;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  allOf?: Schema[];
  oneOf?: Schema[];
  format?: string;
}

interface MediaType {
  schema?: Schema;
}
interface ResponseObject {
  content?: Record<string, MediaType>;
}
export interface Document {
  paths: Record<string, Record<string, { responses: Record<string, ResponseObject> }>>;
  components?: { schemas?: Record<string, Schema> };
}

const FORMATS: Record<string, (v: string) => boolean> = {
  'date-time': (v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v)),
  // as a validating client reads them (ajv-formats): `email` ASCII only (RFC 5321), `idn-email` any (RFC 6531); probe
  // 50 F1: answers declared `email` carried addresses with a non-ASCII local part
  email: (v) => /^[\x21-\x3f\x41-\x7e]+@[\x21-\x3f\x41-\x7e]+$/.test(v),
  'idn-email': (v) => /^[^@\s]+@[^@\s]+$/.test(v),
  uri: (v) => URL.canParse(v),
  uuid: (v) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v),
};

export class Conformance {
  constructor(private readonly document: Document) {}

  private resolve(schema: Schema): Schema {
    let s = schema;
    while (s.$ref) {
      const name = s.$ref.replace('#/components/schemas/', '');
      const found = this.document.components?.schemas?.[name];
      if (!found) throw new Error(`unresolvable $ref ${s.$ref}`);
      s = found;
    }
    return s;
  }

  /** Every property an object may have under this schema (its own and those of its allOf parts). */
  private propertiesOf(schema: Schema): Set<string> {
    const s = this.resolve(schema);
    return new Set([...Object.keys(s.properties ?? {}), ...(s.allOf ?? []).flatMap((part) => [...this.propertiesOf(part)])]);
  }

  /** The problems of `value` under `schema` (empty: it conforms). */
  errors(schema: Schema, value: unknown, at = '$', strict = true): string[] {
    const s = this.resolve(schema);
    // null is allowed by `nullable` beside a type, or by one of `oneOf`'s schemas ("the schema, or null")
    if (value === null && !s.oneOf) return s.nullable ? [] : [`${at}: null is not allowed`];
    const errors: string[] = [];
    if (s.allOf) {
      for (const part of s.allOf) errors.push(...this.errors(part, value, at, false));
      if (strict && isObject(value)) errors.push(...this.extraFields(s, value, at));
    }
    if (s.oneOf) {
      const matching = s.oneOf.filter((option) => this.errors(option, value, at).length === 0);
      if (matching.length !== 1)
        errors.push(`${at}: matches ${matching.length} of the oneOf schemas (${s.oneOf.map((o) => this.errors(o, value, at).join(', ') || 'ok').join(' | ')})`);
    }
    if (s.enum && !s.enum.includes(value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
    if (s.type && !hasType(s.type, value)) return [...errors, `${at}: expected ${s.type}, got ${JSON.stringify(value)}`];
    if (s.format && typeof value === 'string' && FORMATS[s.format] && !FORMATS[s.format]!(value)) errors.push(`${at}: ${JSON.stringify(value)} is not a ${s.format}`);
    if (Array.isArray(value) && s.items) value.forEach((item, i) => errors.push(...this.errors(s.items!, item, `${at}[${i}]`)));
    if (isObject(value) && (s.properties || s.additionalProperties !== undefined)) {
      for (const name of s.required ?? []) if (!(name in value)) errors.push(`${at}.${name}: required`);
      for (const [name, child] of Object.entries(value)) {
        const property = s.properties?.[name];
        if (property) errors.push(...this.errors(property, child, `${at}.${name}`));
        else if (typeof s.additionalProperties === 'object') errors.push(...this.errors(s.additionalProperties, child, `${at}.${name}`));
      }
      if (strict && !s.allOf) errors.push(...this.extraFields(s, value, at));
    }
    return errors;
  }

  private extraFields(schema: Schema, value: Record<string, unknown>, at: string): string[] {
    if (schema.additionalProperties !== undefined && schema.additionalProperties !== false) return [];
    const known = this.propertiesOf(schema);
    return Object.keys(value)
      .filter((name) => !known.has(name))
      .map((name) => `${at}.${name}: not documented`);
  }

  /** The problems of an answer of `method path` (the path as documented, e.g. /v1/workspaces/{ws}/members). */
  answer(method: string, path: string, status: number, contentType: string | null, body: string): string[] {
    const operation = this.document.paths[path]?.[method.toLowerCase()];
    if (!operation) return [`${method} ${path} is not documented`];
    const response = operation.responses[String(status)] ?? operation.responses[`${String(status)[0]}XX`] ?? operation.responses.default;
    if (!response) return [`${method} ${path} answered ${status}, which is not documented (${Object.keys(operation.responses).join(', ')})`];
    const type = (contentType ?? '').split(';')[0]!.trim();
    if (!response.content) return body === '' ? [] : [`${method} ${path} ${status}: a body where none is documented`];
    const media = response.content[type];
    if (!media) return [`${method} ${path} ${status}: content type ${type} is not documented (${Object.keys(response.content).join(', ')})`];
    if (!media.schema) return [];
    let value: unknown = body;
    if (type.endsWith('json')) {
      try {
        value = JSON.parse(body);
      } catch {
        return [`${method} ${path} ${status}: the body is not JSON`];
      }
    }
    return this.errors(media.schema, value).map((e) => `${method} ${path} ${status}: ${e}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function hasType(type: string, value: unknown): boolean {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    default:
      return typeof value === type;
  }
}
