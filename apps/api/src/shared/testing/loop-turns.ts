/**
 * Counts the turns of the event loop from now until `stop()`: what other requests would get meanwhile. A long task
 * that yields (setImmediate) lets it count; one that holds the loop does not.
 */
export function countLoopTurns(): { stop(): number } {
  let turns = 0;
  let running = true;
  const turn = () => {
    turns++;
    if (running) setImmediate(turn);
  };
  setImmediate(turn);
  return {
    stop: () => {
      running = false;
      return turns;
    },
  };
}
