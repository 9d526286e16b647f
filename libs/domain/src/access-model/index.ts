export * from './catalog';
export * from './access';
