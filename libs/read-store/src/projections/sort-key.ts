/**
 * The key a list sorts names by: case and accents folded (`Émile` with `emile`, between `Emil` and `Eva`), so that the
 * stores' plain binary order of the key is alphabetical for Latin, Greek and Cyrillic names, the same in SQLite and
 * MongoDB and in every replica (no locale of the machine involved). Compatibility forms are folded too (`ﬁ` → `fi`).
 * Not a full Unicode collation: `ß` sorts after `s…` words, `ø` after `z`; ties keep the list's own next key.
 */
export const sortKey = (text: string): string => text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
