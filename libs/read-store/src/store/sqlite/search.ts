/**
 * The `search` condition of a query: case-insensitive substring over some fields. Both sides are lower-cased by
 * JavaScript (`toLowerCase`, so Unicode letters fold too); `%`, `_` and `\` in the text are literals.
 *
 * Over `search` fields declared in `init`, it reads `rs_search_<name>` (the lower-cased text). A probe first
 * collects the matching rids, up to SEARCH_PROBE_LIMIT: few matches are then looked up by rid; more drive the
 * query from its sort order instead (a page fills after a few hundred rows). The probe finds its candidates in
 * the trigram index when the needle has 3 characters or more (a phrase of trigrams: every row holding the
 * needle, in a few index pages instead of a scan of every search row) and checks each with the same LIKE as the
 * scan, so the index only narrows and never decides: the matches are the scan's, exactly. Shorter needles scan.
 *
 * Over other fields it scans the documents with a JavaScript function (correct, slow). Only string values (or
 * string elements) match.
 */
import { escapeLike } from '../query-common';
import { type Collection, jsonPath, quote } from './schema';
import { type SearchHints, SqlBuilder } from './sql';
import type { StoreState } from './state';

/** above this many search matches, a query is driven by its sort order instead of by the matches */
const SEARCH_PROBE_LIMIT = 2000;
/** a trigram index finds needles of at least 3 characters (code points): shorter ones have no trigram */
const TRIGRAM = 3;

/** `needle` is lower-cased already */
export function searchPredicate(
  state: StoreState,
  c: Collection,
  needle: string,
  fields: string[],
  sql: SqlBuilder,
  hints: SearchHints,
): string {
  if (c.ready && fields.every((field) => c.search.includes(field))) {
    const pattern = `%${escapeLike(needle)}%`;
    const match = (s: SqlBuilder) =>
      `(${fields.map((field) => `s.${quote(field)} LIKE ${s.param(pattern)} ESCAPE '\\'`).join(' OR ')})`;
    const probe = new SqlBuilder();
    const probeSql = usesTrigrams(needle)
      ? // CROSS JOIN: the index drives (and stops at the LIMIT); each candidate is checked on its search row
        `SELECT s.rid FROM ${c.trigramTable}(${probe.param(trigramPhrase(needle))}) AS f
         CROSS JOIN ${c.searchTable} AS s ON s.rid = f.rowid WHERE ${match(probe)} LIMIT ${SEARCH_PROBE_LIMIT + 1}`
      : `SELECT rid FROM ${c.searchTable} AS s WHERE ${match(probe)} LIMIT ${SEARCH_PROBE_LIMIT + 1}`;
    const rids = state.conn
      .stmt(probeSql)
      .all(...probe.params)
      .map((row) => row.rid);
    if (rids.length <= SEARCH_PROBE_LIMIT) {
      // few matches: look them up by rid
      hints.fewSearchMatches = true;
      return `t.rid IN (SELECT value FROM json_each(${sql.param(JSON.stringify(rids))}))`;
    }
    // many: check rows as the sort order (or a where index) produces them; the page fills early
    return `EXISTS (SELECT 1 FROM ${c.searchTable} AS s WHERE s.rid = t.rid AND ${match(sql)})`;
  }
  return `(${fields
    .map((field) => {
      const path = jsonPath(field);
      return `(CASE json_type(t.doc, ${path})
          WHEN 'text' THEN rs_icontains(json_extract(t.doc, ${path}), ${sql.param(needle)})
          WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(t.doc, ${path}) AS e
                                    WHERE e.type = 'text' AND rs_icontains(e.value, ${sql.param(needle)}))
          ELSE 0 END)`;
    })
    .join(' OR ')})`;
}

/**
 * Whether the trigram index finds every row holding `needle`: 3 code points or more (the tokenizer's
 * characters), and no NUL, which could cut the text short on the way into the query parser (a shorter phrase
 * under 3 characters would find nothing).
 */
function usesTrigrams(needle: string): boolean {
  if (needle.includes('\u0000')) return false;
  let codePoints = 0;
  for (const _ of needle) if (++codePoints >= TRIGRAM) return true;
  return false;
}

/** an FTS5 phrase of `needle`'s trigrams: a quoted string, in which only `"` is special (doubled) */
function trigramPhrase(needle: string): string {
  return `"${needle.replaceAll('"', '""')}"`;
}
