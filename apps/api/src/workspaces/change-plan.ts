import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { type Plan, decidePlan } from '@rollcall/domain';
import type { CommandContext } from '../shared/command-path/command-context';
import { StreamHandler } from '../shared/command-path/stream-handler';
import { type WorkspaceRef, workspace } from '../shared/command-path/targets';

export class ChangePlanCommand {
  constructor(
    readonly ctx: CommandContext,
    readonly ref: WorkspaceRef,
    readonly plan: Plan,
  ) {}
}

export interface PlanChanged {
  workspaceId: string;
  plan: Plan;
  /** false: the workspace was on that plan already (nothing appended) */
  changed: boolean;
  position: string;
}

/** The system changes a workspace's plan (domain: workspace/plan.ts), on the workspace's stream. */
@CommandHandler(ChangePlanCommand)
export class ChangePlanHandler implements ICommandHandler<ChangePlanCommand, PlanChanged> {
  constructor(@Inject(StreamHandler) private readonly streams: StreamHandler) {}

  async execute({ ctx, ref, plan }: ChangePlanCommand): Promise<PlanChanged> {
    const done = await this.streams.handle(workspace(ref), ctx, (c) => decidePlan({ type: 'ChangePlan', actorId: ctx.actorId, now: ctx.now, workspaceId: ref.workspaceId, plan }, c));
    return { workspaceId: ref.workspaceId, plan, changed: done.events.length > 0, position: done.position };
  }
}
