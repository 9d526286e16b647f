export * from './catalog';
export * from './access';
export * from './explain';
export * from './shared-access';
