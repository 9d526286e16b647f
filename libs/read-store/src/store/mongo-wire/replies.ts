/**
 * Replies for the wire fixture, written from MongoDB's documented reply formats (not produced by a server):
 * - write commands (`insert`, `update`, `delete`): `{ ok: 1, n, nModified, upserted: [{ index, _id }],
 *   writeErrors: [{ index, code, errmsg }], writeConcernError: { code, codeName, errmsg, errInfo } }`, where
 *   `n` counts the statements that matched or upserted, `upserted` lists the upserts by statement index, and a
 *   statement that failed appears only in `writeErrors` (https://www.mongodb.com/docs/manual/reference/command/update/#output);
 * - the E11000 write error of a unique index, with `keyPattern`/`keyValue` (MongoDB 4.4+);
 * - the write concern error of a `wtimeout` (code 64, WriteConcernFailed, `errInfo.wtimeout: true`);
 * - `find`: a cursor reply `{ cursor: { firstBatch, id: Int64 0, ns }, ok: 1 }` (id 0: no more batches).
 */
import { type Document, Long } from 'mongodb';

export interface WriteReply {
  n: number;
  nModified?: number;
  upserted?: { index: number; _id: unknown }[];
  writeErrors?: Document[];
  writeConcernError?: Document;
}

export function writeReply({ n, nModified, upserted, writeErrors, writeConcernError }: WriteReply): Document {
  return {
    n,
    ...(nModified !== undefined && { nModified }),
    ...(upserted && upserted.length > 0 && { upserted }),
    ...(writeErrors && writeErrors.length > 0 && { writeErrors }),
    ...(writeConcernError && { writeConcernError }),
    ok: 1,
  };
}

/** the write error of an insert or upsert refused by the unique `_id` index */
export function duplicateKeyError(index: number, namespace: string, id: string): Document {
  return {
    index,
    code: 11000,
    errmsg: `E11000 duplicate key error collection: ${namespace} index: _id_ dup key: { _id: ${JSON.stringify(id)} }`,
    keyPattern: { _id: 1 },
    keyValue: { _id: id },
  };
}

/** a write error of another kind: document validation failure (code 121) */
export function validationError(index: number): Document {
  return { index, code: 121, errmsg: 'Document failed validation', errInfo: { failingDocumentId: 'x' } };
}

/** the write concern was not satisfied in time: the writes are applied on the primary, maybe not durable */
export function writeConcernTimeout(): Document {
  return {
    code: 64,
    codeName: 'WriteConcernFailed',
    errmsg: 'waiting for replication timed out',
    errInfo: {
      wtimeout: true,
      writeConcern: { w: 'majority', wtimeout: 5000, provenance: 'clientSupplied' },
    },
  };
}

/** a command error (ok: 0) */
export function commandError(code: number, codeName: string, errmsg: string): Document {
  return { ok: 0, errmsg, code, codeName };
}

/** the single batch of a `find` */
export function cursorReply(namespace: string, documents: Document[]): Document {
  return { cursor: { firstBatch: documents, id: Long.ZERO, ns: namespace }, ok: 1 };
}
