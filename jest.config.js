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
  // (clean-clone CI installs and builds beside them); tests never assert timings
  testTimeout: 30_000,
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
