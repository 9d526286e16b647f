export * from './members';
export * from './history';
export * from './teams';
