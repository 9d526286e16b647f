/**
 * The V8 flags the API's process starts with: in `npm start` (package.json), the image's CMD (Dockerfile),
 * docker-compose.yml's `api`, `bench:cold-load`, and the server children of `bench:http` and of the e2e tests (so
 * that they measure and test what ships). V8 reads them once, as it sets up the heap:
 * `v8.setFlagsFromString` after start changes nothing (tried: the young generation kept its size), so they cannot be
 * set by main.ts as ROLLCALL_HEAP_GROWING_PERCENT is. `node-flags.spec.ts` checks that every entry point carries them.
 *
 * `--max-semi-space-size=8` (MB): on a machine with this one's memory, V8 lets the young generation grow to two
 * semi-spaces of 64 MB. A cold load (a 100,000-member workspace's snapshot: ~300,000 objects that all survive) then
 * copied up to ~60 MB of survivors in one scavenge, a 40–85 ms stop of the main thread that `/health` and every other
 * request waited out, and the whole load took ~25–30 % longer than with 8 MB semi-spaces (more, smaller scavenges, the
 * survivors promoted sooner). Under the command load, what survives a scavenge is what is in flight, whatever the
 * size: seven alternated pairs could not tell a cost from the machine's drift, though a small one is not ruled out
 * (docs/adr/0010-command-throughput.md, seventeenth pass). Not for the projector's process
 * nor the rebuild, which load no decision state: a rebuild of 1,000,000 events took 51 s of CPU with it against 45.
 */
export const NODE_FLAGS = ['--max-semi-space-size=8'] as const;
