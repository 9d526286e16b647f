import type { SQLInputValue } from 'node:sqlite';
import type { FieldValue } from '../../port';

/** collects positional parameters while SQL text is built: `param` returns the placeholder to embed */
export class SqlBuilder {
  readonly params: SQLInputValue[] = [];
  clone(): SqlBuilder {
    const copy = new SqlBuilder();
    copy.params.push(...this.params);
    return copy;
  }
  param(value: FieldValue): string {
    // SQLite has no boolean: JSON true/false extract as 1/0
    this.params.push(typeof value === 'boolean' ? Number(value) : value);
    return '?';
  }
}

/** what building a query's conditions found out, for the plan */
export interface SearchHints {
  /** the search matched few documents, which the query looks up by rid */
  fewSearchMatches?: boolean;
  /**
   * the search matched a sparse set of documents, which the query keeps as its sort index yields them: walk the
   * sort index even without a `where` condition to narrow by
   */
  sparseSearchMatches?: boolean;
}

/** a text as an SQL string literal, for statements sent whole (to a bulk load's writer thread): quotes doubled */
export const sqlText = (text: string) => `'${text.replaceAll("'", "''")}'`;
