export * from './entry';
export * from './merkle';
export * from './note';
export * from './signing-key';
export * from './tree-store';
export * from './notary';
export * from './proofs';
export * from './verify-log';
