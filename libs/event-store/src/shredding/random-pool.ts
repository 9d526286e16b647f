import { randomFillSync } from 'node:crypto';

/**
 * Bytes per pool: one call into the CSPRNG serves many IVs and key salts. A call per 12-byte IV or 32-byte salt cost
 * more than the bytes (~1.5 µs per call idle, several under load: `randomFillSync` was ~1.7 % of the API's main thread
 * under bench:http when each new subject's salt made its own call), ~0.07 µs per draw from a pool.
 */
const POOL_BYTES = 6144;
let pool = Buffer.alloc(0);
let used = 0;

/**
 * `size` fresh bytes from the CSPRNG, drawn from a pool (`size` ≤ POOL_BYTES). Each byte is handed out once; a spent
 * pool is replaced (never refilled in place), so bytes already given keep their values.
 */
export function randomPooled(size: number): Buffer {
  if (size > POOL_BYTES) throw new RangeError(`at most ${POOL_BYTES} pooled random bytes at once, not ${size}`);
  if (used + size > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    used = 0;
  }
  used += size;
  return pool.subarray(used - size, used);
}

/** A fresh 12-byte AES-GCM IV. */
export const randomIv = (): Buffer => randomPooled(12);
