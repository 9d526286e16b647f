import { EventFromLaterVersion, checkReadable } from '@rollcall/domain';
import type { RecordedEvent } from '@rollcall/event-store';

/** what stopping a projection needs of the projector's slot: where it stands, and where its error goes */
export interface Stoppable {
  projection: { name: string };
  checkpoint: bigint | undefined;
  error?: string;
}

/**
 * An event a later version of Rollcall wrote (docs/adr/0020 point 4): every projection not past it stops before it, as
 * a failing projection does (its checkpoint stays before the event, the projector's `status()` says why, a restart of
 * an upgraded process goes on from there). Projecting past it would leave the read models as if it had not happened,
 * for good. True when `recorded` is such an event (then nothing is to be applied).
 */
export function stopBeforeLaterVersion(recorded: RecordedEvent, slots: readonly Stoppable[], logError: (message: string) => void): boolean {
  try {
    checkReadable(recorded);
    return false;
  } catch (error) {
    if (!(error instanceof EventFromLaterVersion)) throw error;
    const stopped = slots.filter((slot) => slot.error === undefined && (slot.checkpoint === undefined || slot.checkpoint < recorded.position));
    for (const slot of stopped) slot.error = `${recorded.id} at ${recorded.position}: ${error.message}; upgrade this process`;
    if (stopped.length > 0)
      logError(`projector: ${error.message} (event ${recorded.id}, position ${recorded.position}); ${stopped.map((s) => s.projection.name).join(', ')} stopped before it: upgrade this process`);
    return true;
  }
}
