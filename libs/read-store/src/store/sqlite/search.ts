/**
 * The `search` condition of a query: case-insensitive substring over some fields. Both sides are lower-cased by
 * JavaScript (`toLowerCase`, so Unicode letters fold too); `%`, `_` and `\` in the text are literals.
 *
 * Over `search` fields declared in `init`, a match is a row of `rs_search_<name>` (the lower-cased text) whose
 * fields are LIKE '%needle%'. Needles of 3 characters or more find their candidates in the trigram index (a phrase
 * of trigrams: every row holding the needle, from a few index pages instead of a scan of every search row), and
 * each row the query keeps is checked with that LIKE, so the index only narrows and never decides: the matches
 * are the scan's, exactly (see `trigramPredicate` for the plans). Shorter needles scan the search rows: up to
 * SEARCH_PROBE_LIMIT matches, the query looks them up by rid; more, it is driven by its sort order instead (a
 * page fills after a few hundred rows).
 *
 * Over other fields it scans the documents with a JavaScript function (correct, slow). Only string values (or
 * string elements) match.
 */
import { escapeLike } from '../query-common';
import { type Collection, jsonPath, quote } from './schema';
import { type SearchHints, SqlBuilder } from './sql';
import type { StoreState } from './state';

/** above this many search matches, a query is no longer driven by looking its matches up one by one */
const SEARCH_PROBE_LIMIT = 2000;
/**
 * up to this many (estimated) trigram matches, a query walks its sort index keeping the rows whose rid is in the
 * set of matches (gathered once per query, ~0.5 µs each, then checked in a Bloom filter without reading the
 * row); beyond, matches are dense enough that checking each row the sort order yields fills a page sooner
 */
const MATCH_SET_LIMIT = 10_000;
/**
 * ...and at most this fraction of the documents: denser matches come every few rows of the sort order, and
 * checking those rows beats gathering the set
 */
const MATCH_SET_DENSITY = 0.1;
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
    // checked on the search row of each document the query keeps: the definition of a match
    const verified = (s: SqlBuilder) =>
      `EXISTS (SELECT 1 FROM ${c.searchTable} AS s WHERE s.rid = t.rid AND ${match(s)})`;
    if (usesTrigrams(needle)) return trigramPredicate(state, c, trigramPhrase(needle), verified, sql, hints);
    const probe = new SqlBuilder();
    const probeSql = `SELECT rid FROM ${c.searchTable} AS s WHERE ${match(probe)} LIMIT ${SEARCH_PROBE_LIMIT + 1}`;
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
    return verified(sql);
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
 * A search through the trigram index. Its rows are candidates (every document holding the needle in a search
 * field is one), each kept only if `verified`. A probe reads the first candidates, in rid order:
 * - up to SEARCH_PROBE_LIMIT: they are looked up by rid (and sorted);
 * - more, but not more than MATCH_SET_LIMIT nor a fraction MATCH_SET_DENSITY of the documents (estimated from
 *   the rid the probe stopped at: rids are spread over the table): the query keeps the rows of the candidate set
 *   as its sort index yields them, reading just the index until a candidate comes (a needle whose matches all
 *   sort late costs a walk of the index, not a check of every row before them);
 * - more still: every row the sort order yields is checked (`verified`), as matches come every few rows.
 */
function trigramPredicate(
  state: StoreState,
  c: Collection,
  phrase: string,
  verified: (sql: SqlBuilder) => string,
  sql: SqlBuilder,
  hints: SearchHints,
): string {
  const candidates = state.conn
    .stmt(`SELECT rowid AS rid FROM ${c.trigramTable}(?) LIMIT ${SEARCH_PROBE_LIMIT + 1}`)
    .all(phrase)
    .map((row) => row.rid as number);
  if (candidates.length <= SEARCH_PROBE_LIMIT) {
    hints.fewSearchMatches = true;
    return `t.rid IN (SELECT value FROM json_each(${sql.param(JSON.stringify(candidates))})) AND ${verified(sql)}`;
  }
  const lastRid = Math.max(...candidates);
  const maxRid = Number(state.conn.stmt(`SELECT max(rid) AS rid FROM ${c.table}`).get()?.rid ?? lastRid);
  const density = candidates.length / lastRid;
  if (density * maxRid <= MATCH_SET_LIMIT && density <= MATCH_SET_DENSITY) {
    hints.sparseSearchMatches = true;
    return `t.rid IN (SELECT rowid FROM ${c.trigramTable}(${sql.param(phrase)})) AND ${verified(sql)}`;
  }
  return verified(sql);
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
