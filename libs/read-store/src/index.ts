export * from './port';
export * from './store';
export * from './store-factory';
export * from './projections';
export * from './projector';
export * from './queries';
