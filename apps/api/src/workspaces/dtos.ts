import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsString, MaxLength, MinLength } from 'class-validator';
import { ACCESS_MODELS, PLANS, type AccessModelName, type Plan } from '@rollcall/domain';
import { Omittable } from '../shared/http/omittable';

export class CreateWorkspaceDto {
  @ApiProperty({ example: 'Support' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional({ enum: PLANS, default: 'standard' })
  @Omittable()
  @IsIn(PLANS)
  plan?: Plan;

  @ApiPropertyOptional({ enum: ACCESS_MODELS, default: 'levels' })
  @Omittable()
  @IsIn(ACCESS_MODELS)
  accessModel?: AccessModelName;
}

export class ChangePlanDto {
  @ApiProperty({ enum: PLANS, description: "the workspace's plan from now on" })
  @IsIn(PLANS)
  plan!: Plan;
}
