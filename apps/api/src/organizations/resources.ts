import { ApiProperty } from '@nestjs/swagger';
import { WriteAnswer } from '../shared/openapi';

export class OrganizationCreated extends WriteAnswer {
  @ApiProperty({ example: '1b671a64-40d5-591e-99b1-2c3b3a4f2d10' })
  organizationId!: string;
  @ApiProperty({ description: 'the first org admin', example: 'e2d1c0b9-a8f7-5e6d-9c4b-3a2f1e0d9c8b' })
  adminUserId!: string;
  @ApiProperty({
    description: "the organization's API key, shown only in this answer (a retry with the same Idempotency-Key answers it again); send it as `Authorization: Bearer <key>`",
    example: 'rk_1b671a64-40d5-591e-99b1-2c3b3a4f2d10_5d0e2f7a-1c3b-5e4d-8f6a-9b0c1d2e3f4a_…',
  })
  apiKey!: string;
}
