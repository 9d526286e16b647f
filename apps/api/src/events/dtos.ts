import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import { LogPositionDigits, PageLimit, WithinLogPositions } from '../shared/http/dtos';

export class EventsQuery {
  @ApiPropertyOptional({ description: 'a position (decimal), at most the log\'s head: the events strictly after it; left out, from the first event', example: '1042' })
  @IsOptional()
  @IsString()
  @LogPositionDigits()
  @Matches(/^(0|[1-9]\d*)$/, { message: 'after must be a position: a whole number in decimal digits' })
  @WithinLogPositions()
  after?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 100 })
  @PageLimit(1000)
  limit?: number;
}
