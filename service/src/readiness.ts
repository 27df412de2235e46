// Readiness: every dependency reachable and not draining. Results are cached briefly and checks are
// single-flight, so a storm of probes costs one round trip per dependency per cache period.

export type Check = () => Promise<void>;

export interface ReadinessReport {
  ready: boolean;
  status: "ok" | "draining" | "unavailable";
  checks: Record<string, "ok" | "down">;
}

export class Readiness {
  private draining = false;
  private cached: { at: number; checks: Record<string, "ok" | "down"> } | null = null;
  private inflight: Promise<Record<string, "ok" | "down">> | null = null;

  constructor(
    private readonly checks: Record<string, Check>,
    private readonly cacheMs: number,
    private readonly timeoutMs = 1500,
  ) {}

  startDraining(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  async check(): Promise<ReadinessReport> {
    const checks = await this.current();
    if (this.draining) return { ready: false, status: "draining", checks };
    const ready = Object.values(checks).every((v) => v === "ok");
    return { ready, status: ready ? "ok" : "unavailable", checks };
  }

  private async current(): Promise<Record<string, "ok" | "down">> {
    if (this.cached && Date.now() - this.cached.at < this.cacheMs) return this.cached.checks;
    this.inflight ??= this.runAll().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async runAll(): Promise<Record<string, "ok" | "down">> {
    const entries = await Promise.all(
      Object.entries(this.checks).map(async ([name, check]) => [name, (await this.run(check)) ? "ok" : "down"] as const),
    );
    const checks = Object.fromEntries(entries);
    this.cached = { at: Date.now(), checks };
    return checks;
  }

  private async run(check: Check): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        check(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("timeout")), this.timeoutMs);
        }),
      ]);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
