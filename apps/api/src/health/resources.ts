import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** a publisher's fields, for the whole and for each transport */
const PUBLISHER = {
  state: {
    type: 'string' as const,
    enum: ['disabled', 'stopped', 'running', 'retrying', 'standby'],
    description: '`integrationEvents` only (always up): the publisher of this process; `retrying`: its subscription failed, or the transport refuses the event at hand (`failedSends`); `standby`: another process publishes',
  },
  consecutiveFailures: { type: 'integer' as const, description: '`integrationEvents` only: subscriptions to the log that failed in a row' },
  failedSends: { type: 'integer' as const, description: '`integrationEvents` only: sends of the event at hand a transport refused in a row (a consumer down), or attempts whose publishes the NATS server refused (its permissions), until the checkpoint moves' },
  checkpoint: { type: 'string' as const, description: '`integrationEvents` only: the position of the last event published' },
  behind: { type: 'integer' as const, description: "`integrationEvents` only: how far the log's head is past the checkpoint, in log positions (events with the embedded store)" },
};

const INDICATORS = {
  type: 'object' as const,
  additionalProperties: {
    type: 'object' as const,
    properties: {
      status: { type: 'string' as const, enum: ['up', 'down'] },
      message: { type: 'string' as const },
      withoutCheckpoint: {
        type: 'array' as const,
        items: { type: 'string' as const },
        description: '`projections` only: read models reset and not built since (a rebuild running or stopped part-way, or no projector running); their reads answer what was written so far',
      },
      ...PUBLISHER,
      notarizing: { type: 'boolean' as const, description: '`audit` only (always up): this process holds the notary lease (one process over a data dir notarizes; the others stand by)' },
      treeSize: { type: 'integer' as const, description: "`audit` only: the leaves of the notary's tree (events notarized) as this process last saw it" },
      checkpointSize: { type: 'integer' as const, nullable: true, description: '`audit` only: the size of the latest signed checkpoint (null before the first)' },
      alteredPositions: { type: 'array' as const, items: { type: 'string' as const }, description: "`audit` only, once an inclusion proof found the event log's entry at a position lost or unlike the leaf notarized (answered 500 AUDIT_LOG_ALTERED): those positions (the first 20), until the process restarts; `rollcall-audit verify` names every one" },
      alteredCount: { type: 'integer' as const, description: '`audit` only, beside `alteredPositions`: how many altered positions proofs found (each logged once; up to 10,000 remembered)' },
      alteredMessage: { type: 'string' as const, description: '`audit` only, beside `alteredPositions`: what it means and what to do' },
      failing: { type: 'boolean' as const, description: "`audit`: while the notary's steps fail (the data dir's disk): it tries again every second; `erasureJournal` (present when `ROLLCALL_ERASURE_JOURNAL` is set, always up): while the journal refuses its lines; `mailDispatch` (always up): while the mail dispatcher's passes or lease renewals fail (links stay due). `message` says what it means" },
      transports: {
        type: 'object' as const,
        description: '`integrationEvents` only, with a transport configured: each transport\'s publisher (`nats`, `tcp`), each with its own checkpoint; the fields above are the worse of theirs (the lower checkpoint, the greater `behind`)',
        additionalProperties: { type: 'object' as const, properties: PUBLISHER },
      },
    },
    required: ['status'],
  },
  example: { eventStore: { status: 'up' }, readStore: { status: 'up' }, projections: { status: 'up' }, integrationEvents: { status: 'up', state: 'disabled', consecutiveFailures: 0, failedSends: 0 }, audit: { status: 'up', notarizing: true, treeSize: 1042, checkpointSize: 1042 }, mailDispatch: { status: 'up', failing: false } },
};

/** The health check (@nestjs/terminus): each indicator up or down. */
export class Health {
  @ApiProperty({ enum: ['ok', 'error', 'shutting_down'], example: 'ok' })
  status!: 'ok' | 'error' | 'shutting_down';
  @ApiPropertyOptional({ ...INDICATORS, description: 'the indicators that are up' })
  info?: Record<string, { status: string; message?: string; withoutCheckpoint?: string[] }>;
  @ApiPropertyOptional({ ...INDICATORS, example: {}, description: 'the indicators that are down' })
  error?: Record<string, { status: string; message?: string; withoutCheckpoint?: string[] }>;
  @ApiProperty({ ...INDICATORS, description: 'every indicator' })
  details!: Record<string, { status: string; message?: string; withoutCheckpoint?: string[] }>;
}
