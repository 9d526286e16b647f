/**
 * The WHERE clause of a query: `where` equality / membership, then `search`.
 *
 * A field that holds an array matches when an element matches (MongoDB semantics). Fields never seen holding an
 * array (tracked per collection in `rs_array_fields`) are compared with `json_extract(...) IN (...)` so that the
 * expression index applies; others go through `json_each`. `null` matches null and missing. Numbers, strings
 * and booleans never match each other (1 is not true).
 */
import type { FieldValue, Query } from '../../port';
import { checkQuery, whereValues } from '../query-common';
import { type Collection, jsonPath } from './schema';
import { searchPredicate } from './search';
import type { SearchHints, SqlBuilder } from './sql';
import type { StoreState } from './state';

/** the WHERE clause of a query (documents only, `where`, `search`) */
export function conditions(
  state: StoreState,
  c: Collection,
  query: Omit<Query, 'sort' | 'limit' | 'cursor'>,
  sql: SqlBuilder,
  hints: SearchHints = {},
): string {
  const search = checkQuery(query);
  const parts = ['t.doc IS NOT NULL'];
  for (const [field, value] of Object.entries(query.where ?? {})) {
    parts.push(wherePredicate(c, field, whereValues(value), sql));
  }
  if (search) parts.push(searchPredicate(state, c, lowerCaseNeedle(search.text), search.fields, sql, hints));
  return parts.join(' AND ');
}

/** compare with json_each: the field is dotted or has held an array */
export function arrayAware(c: Collection, field: string): boolean {
  return field.includes('.') || c.arrayFields.has(field);
}

export function wherePredicate(c: Collection, field: string, values: FieldValue[], sql: SqlBuilder): string {
  if (field === '_id') {
    const ids = values.filter((value) => typeof value === 'string');
    return ids.length === 0 ? '0' : `t.id IN (${ids.map((id) => sql.param(id)).join(', ')})`;
  }
  const path = jsonPath(field);
  const scalar = valuePredicate(
    `json_extract(t.doc, ${path})`,
    `json_type(t.doc, ${path})`,
    values,
    'scalar',
    sql,
  );
  if (!arrayAware(c, field)) return scalar;
  const element = valuePredicate('e.value', 'e.type', values, 'element', sql);
  return `(CASE json_type(t.doc, ${path}) WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(t.doc, ${path}) AS e WHERE ${element}) ELSE ${scalar} END)`;
}

/**
 * `expr` equals one of `values`, typed: a JSON string never equals a number, true is not 1. `scalar` compares a
 * json_extract (null also matching a missing field); `element` compares a json_each row.
 */
function valuePredicate(
  expr: string,
  type: string,
  values: FieldValue[],
  mode: 'scalar' | 'element',
  sql: SqlBuilder,
): string {
  const list = (items: FieldValue[]) => items.map((item) => sql.param(item)).join(', ');
  const strings = values.filter((value) => typeof value === 'string');
  const numbers = values.filter((value) => typeof value === 'number');
  const parts: string[] = [];
  if (strings.length > 0) {
    parts.push(
      mode === 'scalar'
        ? `${expr} IN (${list(strings)})`
        : `(${type} = 'text' AND ${expr} IN (${list(strings)}))`,
    );
  }
  if (numbers.length > 0) parts.push(`(${expr} IN (${list(numbers)}) AND ${type} IN ('integer', 'real'))`);
  if (values.includes(true)) parts.push(`(${expr} = 1 AND ${type} = 'true')`);
  if (values.includes(false)) parts.push(`(${expr} = 0 AND ${type} = 'false')`);
  if (values.includes(null)) parts.push(mode === 'scalar' ? `${expr} IS NULL` : `${type} = 'null'`);
  return parts.length === 0 ? '0' : `(${parts.join(' OR ')})`;
}

/**
 * The search text lower-cased letter by letter: `toLowerCase` of the whole text writes a Greek capital sigma that ends
 * it as a final sigma (ς), which a stored word continuing past it holds as σ: "ΟΔΥΣ" would not find "Οδυσσέας".
 * Letter by letter, Σ is σ, as inside a word; a needle typed with ς keeps it.
 */
export const lowerCaseNeedle = (text: string): string => Array.from(text, (c) => c.toLowerCase()).join('');
