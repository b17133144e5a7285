/**
 * usage: node --import tsx bench/workloads.ts W1 [W2 ...] [--backend NAME] [--steps N] [--json]
 * The same as `recur bench`; the workloads themselves are in src/bench/workloads.ts.
 */
import { main } from '../src/cli/main.js'

process.exitCode = await main(['bench', ...process.argv.slice(2)])
