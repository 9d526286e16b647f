/** @type {import('jest').Config} */
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2023',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
    },
    module: { type: 'commonjs' },
  },
];
module.exports = {
  testEnvironment: 'node',
  // tests and hooks (an e2e file's beforeAll starts a whole app): 5 s, jest's default, failed on a loaded machine
  // (clean-clone CI installs and builds beside them); tests never assert timings: a timeout only stops a hang, so it
  // is set for two workers sharing two cores (a test runs up to ~2.6x slower than alone)
  testTimeout: 60_000,
  // two workers, whatever the core count (jest's default on 2 cores is one): many suites wait on real processes,
  // timers and sockets, and a second worker fills those waits. Session 20, the whole suite on the 2-core machine:
  // 400 s of wall time against 612 s with one worker (docs/adr/0016-two-jest-workers.md)
  maxWorkers: 2,
  // how long a worker may take to exit once the run ends, before jest kills it and says it "failed to exit
  // gracefully" (default 500 ms): a worker that ran ~100 suites holds a heap of a GB or more, and Node frees it at
  // exit (230–460 ms for ~1 GB measured alone on this machine; more beside the other worker). Session 36: no handle
  // was left open at the end of either worker (/proc thread names and active resources logged at exit)
  workerGracefulExitTimeout: 5_000,
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@rollcall/(audit|domain|event-store|read-store)$': '<rootDir>/libs/$1/src/index.ts',
  },
  testMatch: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  collectCoverageFrom: ['libs/domain/src/**/*.ts', '!**/*.spec.ts', '!**/testing/**'],
  coverageThreshold: { 'libs/domain/src/': { lines: 95 } },
  coverageReporters: ['text-summary', 'text'],
};
