export * from './events';
export * from './decider';
export * from './reports';
export * from './membership-ended';
