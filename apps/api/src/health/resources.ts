import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

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
    },
    required: ['status'],
  },
  example: { eventStore: { status: 'up' }, readStore: { status: 'up' }, projections: { status: 'up' } },
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
