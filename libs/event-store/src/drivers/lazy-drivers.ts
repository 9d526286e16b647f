import type * as Kurrent from '@kurrent/kurrentdb-client';
import type * as Mongo from 'mongodb';

/**
 * The KurrentDB and MongoDB drivers, loaded on their first use rather than when a module naming them is imported.
 *
 * Why: every process imports this library (and the read store's) whole, and most of them run on the embedded SQLite
 * stores and never touch either driver. Loading them took ~120–170 ms each (Node 24, this project's machine, measured
 * with `require` alone: `@kurrent/kurrentdb-client` 118–136 ms, `mongodb` 117–173 ms): about a quarter of a second of
 * every API, projector and CLI start and of every jest test file that imports the libraries (docs/adr/0016).
 * Types come from `import type`, which costs nothing at run time; values (classes, constants, `instanceof` checks)
 * go through these functions.
 */
let kurrent: typeof Kurrent | undefined;
let mongo: typeof Mongo | undefined;

/** `@kurrent/kurrentdb-client`, loaded on the first call. */
export function kurrentDriver(): typeof Kurrent {
  return (kurrent ??= require('@kurrent/kurrentdb-client') as typeof Kurrent);
}

/** `mongodb`, loaded on the first call. */
export function mongoDriver(): typeof Mongo {
  return (mongo ??= require('mongodb') as typeof Mongo);
}
