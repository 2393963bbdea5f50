/**
 * One registry of things to close at shutdown (listeners, recordings, ffmpeg children, stores),
 * run in reverse order of registration so dependants close before what they depend on.
 */
export class ShutdownRegistry {
  private readonly steps: Array<{ name: string; fn: () => Promise<void> | void }> = [];
  private running: Promise<void> | undefined;

  add(name: string, fn: () => Promise<void> | void): void {
    this.steps.push({ name, fn });
  }

  run(onError: (name: string, err: unknown) => void = () => {}): Promise<void> {
    this.running ??= (async () => {
      for (const step of [...this.steps].reverse()) {
        try {
          await step.fn();
        } catch (err) {
          onError(step.name, err);
        }
      }
    })();
    return this.running;
  }
}
