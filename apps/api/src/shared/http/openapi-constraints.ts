import { getMetadataStorage } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import { ID_PATTERN } from './dtos';

/**
 * The rules the validation pipe enforces on a body, written into the document's schemas (probe 45 F3): the document
 * said none of them (no maxLength, no pattern, no integer, no `additionalProperties: false`), so a client generated from
 * it could not check a request before sending, and refusals came as surprises. They are read from class-validator's
 * own metadata, the decorators the pipe runs, so the document cannot say one thing and the pipe do another; a schema is
 * found by its class's name (unique: openapi-schema-names.spec.ts).
 *
 * What a decorator means in the document (each with `each: true` applies to the array's items):
 * maxLength, minLength, isNotEmpty → string lengths; isInt → `integer`; min, max → bounds; matches → `pattern` (a
 * regular expression without flags); isIn → `enum`; arrayMaxSize, arrayMinSize → item counts; isEmailAddress → `format:
 * idn-email`; isUrl → an http(s) scheme (the pipe takes http and https only, in any case). Every class the pipe validates refuses properties
 * it does not declare (`forbidNonWhitelisted`): `additionalProperties: false`. Rules in code (the domain's, a custom
 * validator's) stay in the descriptions.
 */

type Schema = { type?: string; properties?: Record<string, Schema>; items?: Schema; additionalProperties?: unknown; [key: string]: unknown };
type Patch = (schema: Schema, constraints: unknown[]) => void;

const PATCHES: Record<string, Patch> = {
  // a limit the @ApiProperty states stays: the domain's, tighter than the pipe's bound before it (a team's name: 80
  // after trimming, the pipe's 1,000 — probe 45b F2)
  maxLength: (s, [n]) => (s.maxLength ??= n),
  minLength: (s, [n]) => (s.minLength ??= n),
  isNotEmpty: (s) => (s.minLength = Math.max(1, (s.minLength as number | undefined) ?? 0)),
  isInt: (s) => (s.type = 'integer'),
  min: (s, [n]) => (s.minimum = n),
  max: (s, [n]) => (s.maximum = n),
  matches: (s, [pattern, flags]) => {
    const regex = pattern instanceof RegExp ? pattern : new RegExp(String(pattern), typeof flags === 'string' ? flags : undefined);
    if (regex.flags.replace(/[gu]/g, '') === '') s.pattern = regex.source;
  },
  isIn: (s, [values]) => {
    if (!s.enum && Array.isArray(values)) s.enum = values;
  },
  arrayMaxSize: (s, [n]) => (s.maxItems = n),
  arrayMinSize: (s, [n]) => (s.minItems = n),
  // the domain's rule takes internationalized addresses (a Unicode local part, an IDN domain): RFC 6531's, not 5321's
  isEmailAddress: (s) => (s.format = 'idn-email'),
  // the pipe reads the scheme in any case (HTTPS://…: probe 45b F4)
  isUrl: (s) => (s.pattern = '^[Hh][Tt][Tt][Pp][Ss]?://'),
};

/** every class with validation metadata, by name, with the metadata it inherits (class-validator keeps them in a Map by class) */
function validatedClasses(): Map<string, { target: Function; metadatas: ValidationMetadata[] }> {
  const storage = getMetadataStorage();
  const byClass = (storage as unknown as { validationMetadatas?: Map<Function, ValidationMetadata[]> }).validationMetadatas;
  if (!(byClass instanceof Map)) throw new Error("class-validator's metadata storage changed shape: openapi-constraints.ts reads its validationMetadatas Map");
  const out = new Map<string, { target: Function; metadatas: ValidationMetadata[] }>();
  for (const target of byClass.keys()) if (typeof target === 'function') out.set(target.name, { target, metadatas: storage.getTargetValidationMetadatas(target, '', true, false) });
  return out;
}

/** The property's schema the constraint applies to: itself, or its items (`each`), or none (a $ref, a composition). */
function targetOf(property: Schema, each: boolean): Schema | undefined {
  const schema = each ? property.items : property;
  if (!schema || '$ref' in schema || 'oneOf' in schema || 'allOf' in schema) return undefined;
  return schema;
}

type Parameter = { in: string; name: string; description?: string; schema?: Schema };
type Operations = Record<string, Record<string, { parameters?: Parameter[] }>>;

/** Applies a class's constraints to the schema of each of its properties `schemaOf` finds. */
function constrain(metadatas: ValidationMetadata[], schemaOf: (property: string) => Schema | undefined): void {
  for (const m of metadatas) {
    const property = schemaOf(m.propertyName);
    const patch = m.name ? PATCHES[m.name] : undefined;
    if (!property || !patch) continue;
    const target = targetOf(property, m.each);
    if (target) patch(target, m.constraints ?? []);
  }
}

/**
 * @nestjs/swagger's metadata keys (its DECORATORS.API_MODEL_PROPERTIES_ARRAY and API_MODEL_PROPERTIES, which its package
 * does not export): openapi-request-limits.e2e fails if they move, as the query parameters then lose their limits.
 */
const SWAGGER_PROPERTIES = 'swagger/apiModelPropertiesArray';
const SWAGGER_PROPERTY = 'swagger/apiModelProperties';

/** the names of a class's documented properties (what @nestjs/swagger makes a query's parameters of), sorted */
const documentedNames = (target: Function): string =>
  ((Reflect.getMetadata(SWAGGER_PROPERTIES, target.prototype as object) as string[] | undefined) ?? [])
    .map((name) => name.replace(/^:/, ''))
    .sort()
    .join(',');

/** whether the parameter is what the class's @ApiProperty of that name documents */
function documents(target: Function, parameter: Parameter): boolean {
  const said = (Reflect.getMetadata(SWAGGER_PROPERTY, target.prototype as object, parameter.name) ?? {}) as Record<string, unknown>;
  const schema = parameter.schema ?? {};
  return said.description === parameter.description && ['maximum', 'minimum', 'default'].every((k) => JSON.stringify(said[k]) === JSON.stringify(schema[k]));
}

/**
 * Writes the constraints into the schemas of the classes the pipe validates (bodies), into the query parameters of
 * the operations whose query is such a class (found by its documented property names: a query DTO's properties are
 * flattened into parameters), and the id rule into every path parameter (IdPipe).
 */
export function documentConstraints(schemas: Record<string, Schema>, paths: Operations): void {
  const classes = validatedClasses();
  const byQueryNames = new Map<string, { target: Function; metadatas: ValidationMetadata[] }[]>();
  for (const validated of classes.values()) {
    const names = documentedNames(validated.target);
    if (names) byQueryNames.set(names, [...(byQueryNames.get(names) ?? []), validated]);
  }
  for (const [name, { metadatas }] of classes) {
    const schema = schemas[name];
    if (!schema?.properties) continue;
    schema.additionalProperties = false;
    constrain(metadatas, (property) => schema.properties![property]);
  }
  for (const operations of Object.values(paths))
    for (const operation of Object.values(operations)) {
      const parameters = operation.parameters ?? [];
      for (const parameter of parameters) if (parameter.in === 'path' && parameter.schema?.type === 'string') parameter.schema.pattern = ID_PATTERN.source;
      const query = parameters.filter((p) => p.in === 'query');
      // the classes of these parameters whose documentation each parameter carries (two lists' `after, limit` differ so)
      const names = query.map((p) => p.name);
      const candidates = (byQueryNames.get([...names].sort().join(',')) ?? [])
        .filter(({ target }) => query.every((p) => documents(target, p)))
        .map(({ metadatas }) => metadatas.filter((m) => names.includes(m.propertyName)));
      // a message class extending the query (the envelope's fields undocumented) says the same of these parameters
      if (new Set(candidates.map((metadatas) => JSON.stringify(metadatas.map((m) => [m.propertyName, m.name, m.each, m.constraints])))).size !== 1) continue;
      constrain(candidates[0]!, (property) => query.find((p) => p.name === property)?.schema);
    }
}
