// the event store's helper (its key table has the same concern: libs/event-store/src/testing/page-gaps.ts), for text
import { plantInPageGap as plantBytes } from '../../../../event-store/src/testing/page-gaps';

/**
 * Writes `text` into the unused space of a leaf page of the b-tree `btree` of the closed SQLite file `file`, where
 * SQLite leaves the bytes of cells that moved when it rebuilds a page (a split). This stands for such a copy, which no
 * workload of a spec makes on purpose (probe 32 found one after a few hundred commands over HTTP). Returns the page.
 */
export const plantInPageGap = (file: string, btree: string, text: string): number => plantBytes(file, btree, Buffer.from(text, 'utf8'));

/** whether the file holds `text` anywhere (in clear) */
export const fileHolds = (bytes: Buffer, text: string): boolean => bytes.includes(Buffer.from(text, 'utf8'));
