/**
 * Whether a process with this pid runs on this host (signal 0 checks without signalling; EPERM: it runs as another
 * user). What the data dir's leases and marks ask of a holder on this host before taking its place.
 */
export function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
