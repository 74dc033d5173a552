/** The final result of a command: one JSON line under `--json`, human text otherwise. */
import { escapeForTerminal, jsonLine } from '../terminal-text.js';

export function printResult(opts: { json?: boolean }, result: Record<string, unknown>, human: () => string): void {
  if (opts.json) process.stdout.write(jsonLine({ time: new Date().toISOString(), ...result }));
  else process.stdout.write(escapeForTerminal(human()));
}
