/**
 * Whether this process has been told to stop (SIGTERM and the like). Between the signal and the drain lies the grace
 * period (`ROLLCALL_SHUTDOWN_GRACE_MS`): the server still takes connections and answers everything, and `/health`
 * answers 503 SHUTTING_DOWN, so that a load balancer polling it stops routing here before the listening socket closes
 * (a connection it sent after that would be reset, never answered).
 */
export class Stopping {
  private signalled = false;

  begin(): void {
    this.signalled = true;
  }

  get stopping(): boolean {
    return this.signalled;
  }
}
