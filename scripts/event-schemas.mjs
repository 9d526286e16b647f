// Generates the JSON Schema of each domain event type's `data`, as the integration events carry it, from the domain's
// TypeScript types (ts-json-schema-generator): apps/api/src/shared/generated/event-data-schemas.json, read by the
// AsyncAPI document (probe 38 F8: `data` was any object). Run after changing an event's type:
//   npm run asyncapi:event-schemas
// `--check` compares instead of writing (apps/api/src/shared/http/event-data-schemas.spec.ts runs it).
import { readFileSync, writeFileSync } from 'node:fs';
import { createGenerator } from 'ts-json-schema-generator';

const OUT = 'apps/api/src/shared/generated/event-data-schemas.json';
/** the fields a deletion erases (libs/domain/src/personal-data.ts): null in an event read after it */
const PERSONAL = new Set(['email', 'displayName', 'alias', 'avatarUrl']);

const nullablePersonal = (schema) => {
  if (schema === null || typeof schema !== 'object') return schema;
  if (Array.isArray(schema)) return schema.map(nullablePersonal);
  const out = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, nullablePersonal(v)]));
  if (out.properties)
    for (const [name, property] of Object.entries(out.properties))
      if (PERSONAL.has(name)) out.properties[name] = property.anyOf ? { anyOf: [...property.anyOf.filter((s) => s.type !== 'null'), { type: 'null' }] } : { anyOf: [property, { type: 'null' }] };
  return out;
};

/** what the publisher changes (apps/api/src/infrastructure/integration-events.ts `publishedData`) */
const published = (type, data) => {
  if (type === 'ApiKeyIssued') {
    delete data.properties.secretHash;
    data.required = data.required.filter((f) => f !== 'secretHash');
  }
  if (type === 'UserDeletedFromWorkspace') {
    data.properties.contacts = { type: 'object', properties: { mode: { type: 'string', const: 'unassigned' } }, required: ['mode'] };
    data.required.push('contacts');
  }
  return data;
};

const union = createGenerator({ path: 'libs/domain/src/event-data.ts', tsconfig: 'tsconfig.json', type: 'DomainEvent', skipTypeCheck: true, expose: 'none', topRef: false, jsDoc: 'none', additionalProperties: true }).createSchema('DomainEvent');
const byType = {};
for (const variant of union.anyOf) byType[variant.properties.type.const] = published(variant.properties.type.const, nullablePersonal(variant.properties.data));
const text = `${JSON.stringify(Object.fromEntries(Object.entries(byType).sort(([a], [b]) => a.localeCompare(b))), null, 2)}\n`;
if (process.argv.includes('--check')) {
  if (readFileSync(OUT, 'utf8') !== text) {
    console.error(`${OUT} is not what the domain's types give: run npm run asyncapi:event-schemas`);
    process.exit(1);
  }
} else writeFileSync(OUT, text);
