import { safeCell } from './csv';

/** what a reader of the export does: one leading apostrophe off */
const read = (cell: string) => (cell.startsWith("'") ? cell.slice(1) : cell);

describe('rule 18: CSV cells a spreadsheet would run as formulas', () => {
  it('are written with a leading apostrophe, as is a value that begins with one, so that every value reads back (probe 37 F5)', () => {
    const values = ['=1+1', "'=1+1", '-5', "'-5", '+x@acme.test', '@SUM(1)', '\tx', '\rx', "'", "''", 'Jane', 'a=b', ''];
    expect(values.map(safeCell)).toEqual(["'=1+1", "''=1+1", "'-5", "''-5", "'+x@acme.test", "'@SUM(1)", "'\tx", "'\rx", "''", "'''", 'Jane', 'a=b', '']);
    expect(values.map((v) => read(safeCell(v)))).toEqual(values);
    // no cell begins with what a spreadsheet runs
    for (const v of values) expect(safeCell(v)).not.toMatch(/^[=+\-@\t\r]/);
    expect([safeCell(null), safeCell(undefined)]).toEqual(['', '']);
  });

  it('and so are their full-width forms and a leading NUL, which some spreadsheets read as the ASCII ones (probe 79)', () => {
    const values = ['\uFF1D1+1', '\uFF0BSUM(1)', '\uFF0D5', '\uFF20SUM(1)', '\u0000=1+1', 'Ｊａｎｅ'];
    expect(values.map(safeCell)).toEqual(["'\uFF1D1+1", "'\uFF0BSUM(1)", "'\uFF0D5", "'\uFF20SUM(1)", "'\u0000=1+1", 'Ｊａｎｅ']);
    expect(values.map((v) => read(safeCell(v)))).toEqual(values);
  });
});
