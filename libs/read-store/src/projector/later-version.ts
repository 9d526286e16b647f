import { laterVersionOf } from '@rollcall/domain';
import type { RecordedEvent } from '@rollcall/event-store';

/** what stopping a projection needs of the projector's slot: its name, and where its error goes */
export interface Stoppable {
  projection: { name: string };
  error?: string;
  /** stopped before an event a later version wrote (an upgraded process projects it: leased-projector.ts hands over) */
  laterVersion?: boolean;
}

/**
 * An event a later version of Rollcall wrote (docs/adr/0020 point 4): every projection not past it stops before it, as
 * a failing projection does (its checkpoint stays before the event, the projector's `status()` says why, a restart of
 * an upgraded process goes on from there). Projecting past it would leave the read models as if it had not happened,
 * for good. `behind`: the projector's own test of a slot not past the event. True when `recorded` is such an event
 * (then nothing is to be applied).
 */
export function stopBeforeLaterVersion<S extends Stoppable>(recorded: RecordedEvent, slots: readonly S[], behind: (slot: S) => boolean, logError: (message: string) => void): boolean {
  const error = laterVersionOf(recorded);
  if (!error) return false;
  const stopped = slots.filter((slot) => slot.error === undefined && behind(slot));
  for (const slot of stopped) Object.assign(slot, { error: `${recorded.id} at ${recorded.position}: ${error.message}; upgrade this process`, laterVersion: true });
  if (stopped.length > 0)
    logError(`projector: ${error.message} (event ${recorded.id}, position ${recorded.position}); ${stopped.map((s) => s.projection.name).join(', ')} stopped before it: upgrade this process`);
  return true;
}
