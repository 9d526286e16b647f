export * from './members';
export * from './history';
export * from './presence-report';
export * from './teams';
export { type CsvOptions, csvStream, list, safeCell } from './csv';
