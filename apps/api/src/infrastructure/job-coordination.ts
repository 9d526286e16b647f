import type { Logger } from '@nestjs/common';
import type { Config } from '../config';
import type { LeaseJob } from './lease';
import { MongoPublisherCoordination } from './mongo-job-lease';
import { DataDirPublisherCoordination, type PublisherCoordination } from './publisher-coordination';

/**
 * The lease and checkpoint that every process that may do `job` shares (publisher-coordination.ts): the data dir's
 * lease over the embedded store, MongoDB's with EventStoreDB and MongoDB, none with EventStoreDB alone (every
 * replica does the job). MongoDB's is started in the background: MongoDB unreachable must not hold up the start (the
 * job stands by until the lease is taken).
 */
export function jobCoordination(
  config: Config,
  job: Exclude<LeaseJob, 'projector' | 'notary'>,
  checkpointFile: string,
  logger: Logger,
  /** where a first start resumes when this job has no checkpoint yet: the job it was split from (ADR 0022) */
  earlier?: { job: LeaseJob; checkpointFile: string },
): PublisherCoordination {
  if (!config.eventstoreUrl) return new DataDirPublisherCoordination(config.dataDir, true, job, checkpointFile, earlier?.checkpointFile);
  if (!config.mongoUrl) return new DataDirPublisherCoordination(config.dataDir, false, job, checkpointFile, earlier?.checkpointFile);
  const mongo = new MongoPublisherCoordination(
    config.mongoUrl,
    job,
    (error) => logger.warn({ reason: error instanceof Error ? error.message : String(error) }, `${job}: the lease in MongoDB: ${String(error)}`),
    // before the lease in MongoDB, each replica kept a checkpoint in its data dir: the first holder goes on from its own
    // rather than from the log's head, so that what was not done yet when they stopped is done
    () => new DataDirPublisherCoordination(config.dataDir, false, job, checkpointFile, earlier?.checkpointFile).readCheckpoint(),
    earlier?.job,
  );
  void mongo.start();
  return mongo;
}
