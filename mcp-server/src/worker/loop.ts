// One background job run forever, one run at a time, until stopped. A failed run is reported and
// the job carries on at the next interval (a database restart must not end the worker).
export interface Loop {
  /** Stops scheduling runs and waits for the current one to finish. */
  stop(): Promise<void>;
}

export function startLoop(run: () => Promise<void>, intervalMs: number, onError: (error: unknown) => void): Loop {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  const tick = (): void => {
    timer = undefined;
    current = (async () => {
      try {
        await run();
      } catch (error) {
        onError(error);
      }
      if (!stopped) timer = setTimeout(tick, intervalMs);
    })();
  };
  timer = setTimeout(tick, 0);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}
