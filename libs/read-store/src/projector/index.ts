export { Projector, type ProjectorOptions, type ProjectionStatus, type ProjectorLogger } from './projector';
export { rebuild, type RebuildOptions, type RebuildProgress, type RebuildResult } from './rebuild';
export { registerProjectorMetrics } from './metrics';
export { toProjectedEvent } from './batch';
