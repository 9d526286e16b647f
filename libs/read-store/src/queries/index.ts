export * from './members';
export * from './history';
