import { ApiProperty } from '@nestjs/swagger';
import { WriteAnswer } from '../shared/openapi';

export class WorkspaceCreated extends WriteAnswer {
  @ApiProperty({ example: '7c9e6679-7425-5de3-944b-e07fc1f90ae7' })
  workspaceId!: string;
}
