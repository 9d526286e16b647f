import { randomFillSync } from 'node:crypto';

/** IVs per pool: one call into the CSPRNG serves this many (a call per 12-byte IV cost more than the IV) */
const POOL_IVS = 512;
const IV_BYTES = 12;
let pool = Buffer.alloc(0);
let used = 0;

/**
 * A fresh 12-byte AES-GCM IV from the CSPRNG, drawn from a pool. Each IV is handed out once; a full pool is replaced
 * (never refilled in place), so an IV already given keeps its bytes.
 */
export function randomIv(): Buffer {
  if (used + IV_BYTES > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_IVS * IV_BYTES));
    used = 0;
  }
  used += IV_BYTES;
  return pool.subarray(used - IV_BYTES, used);
}
