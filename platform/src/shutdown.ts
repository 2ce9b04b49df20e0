// When a service process stops: on SIGINT and SIGTERM (Ctrl+C, docker stop, an orchestrator), and,
// when a supervisor started it with an IPC channel (`npm start`, the bench), as soon as that
// supervisor is gone — even killed with SIGKILL, which it cannot pass on — so no service outlives
// the command that started it.
export function onShutdown(stop: (reason: string) => void): void {
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  if (process.channel) process.once('disconnect', () => stop('supervisor gone'));
}
