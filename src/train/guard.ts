/**
 * Numerical guard rails: what a training step does when its loss or its gradient norm is not a
 * finite number (NaN or ±Infinity), decided before the update touches the weights.
 *
 * Every guarded step reads back two scalars, the loss and the squared global gradient norm Σg²
 * (computed once per step; clipping needs it anyway). Either one non-finite is a failed step.
 *
 *   policy 'skip' (the default): the failed step updates nothing (weights and optimizer moments
 *     stay as they were), and the learning rate is halved for the rest of the run. After `limit`
 *     failed steps in a row the run stops: the trainer's caller restores the last good checkpoint
 *     (`LastGoodCheckpoint`: weights, optimizer and trainer state) and reports what happened.
 *   policy 'stop': the first failed step stops the run the same way.
 *
 * A step that succeeds resets the count in a row; the lowered learning rate stays lowered (a
 * checkpoint records it, so a resumed run continues with it; giving --lr on resume starts over).
 * This module holds only the rule and the messages: the trainers (`supervised.ts`) apply it.
 */
import { RecurError } from '../errors.js'

/** What a failed (non-finite) step does: skip it and lower the learning rate, or stop at once. */
export type NanPolicy = 'skip' | 'stop'

/** The policies, for checking an option's value. */
export const NAN_POLICIES: readonly NanPolicy[] = ['skip', 'stop']

/** The learning rate is multiplied by this at each failed step (policy 'skip'). */
export const NAN_LR_FACTOR = 0.5

export interface NanGuardOptions {
  policy: NanPolicy
  /** Failed steps in a row that stop the run (policy 'skip'); at least 1. */
  limit: number
}

/** The guard's counters, for checkpoints (a resumed run continues with them). */
export interface NanGuardState {
  /** Factor on the scheduled learning rate: 1, halved at each failed step. */
  lrScale: number
  /** Failed steps in a row, up to the last step. */
  inRow: number
  /** Failed steps in all. */
  total: number
}

/** What to do with a step: apply its update, skip it, or stop the run. */
export type StepVerdict = 'update' | 'skip' | 'stop'

/** The defaults (also those of `--nan-policy` and `--nan-limit`, src/config.ts). */
export const DEFAULT_NAN_GUARD: Readonly<NanGuardOptions> = Object.freeze({ policy: 'skip', limit: 5 })

/** Applies the policy to each step's loss and squared gradient norm, and counts failures. */
export class NanGuard {
  readonly options: NanGuardOptions
  lrScale = 1
  inRow = 0
  total = 0

  constructor(options: Partial<NanGuardOptions> = {}) {
    const policy = options.policy ?? DEFAULT_NAN_GUARD.policy
    const limit = options.limit ?? DEFAULT_NAN_GUARD.limit
    if (!NAN_POLICIES.includes(policy)) {
      throw new RecurError('OPTION', `nan policy must be one of ${NAN_POLICIES.join(', ')}, got ${JSON.stringify(policy)}`)
    }
    if (!Number.isInteger(limit) || limit < 1) throw new RecurError('RANGE', `nan limit must be an integer >= 1, got ${limit}`)
    this.options = { policy, limit }
  }

  /** The verdict on a step whose loss and gradient norm were read back; updates the counters. */
  judge(loss: number, gradNorm: number): StepVerdict {
    if (Number.isFinite(loss) && Number.isFinite(gradNorm)) {
      this.inRow = 0
      return 'update'
    }
    this.inRow++
    this.total++
    if (this.options.policy === 'stop' || this.inRow >= this.options.limit) return 'stop'
    this.lrScale *= NAN_LR_FACTOR
    return 'skip'
  }

  getState(): NanGuardState {
    return { lrScale: this.lrScale, inRow: this.inRow, total: this.total }
  }

  setState(state: NanGuardState): void {
    this.lrScale = state.lrScale
    this.inRow = state.inRow
    this.total = state.total
  }
}

/**
 * The last good checkpoint, kept in memory for a run that has to stop: a snapshot taken at a
 * checkpoint becomes good once a later step succeeds (a finite loss and gradient from its weights:
 * a skipped step does not change them). A snapshot followed only by failed steps is not trusted:
 * its weights are the ones that failed. The snapshot of the run's start counts as good.
 * Holds at most two snapshots (each the weights and optimizer state, read back to the host).
 */
export class LastGoodCheckpoint<S> {
  private good: S
  private pending: S | null = null

  constructor(start: S) {
    this.good = start
  }

  /** A checkpoint was taken: good once a step succeeds. */
  checkpoint(snapshot: S): void {
    this.pending = snapshot
  }

  /** A step succeeded: the last checkpoint's weights are good. */
  stepSucceeded(): void {
    if (this.pending === null) return
    this.good = this.pending
    this.pending = null
  }

  /** The snapshot to restore. */
  get snapshot(): S {
    return this.good
  }
}

/** One guarded step's outcome. */
export interface StepResult {
  /** The step number (1-based) that was attempted. */
  step: number
  /** Mean loss of the step, as read back (maybe NaN). */
  loss: number
  /** Global gradient norm before clipping (maybe NaN or Infinity). */
  gradNorm: number
  /** The learning rate the step used, or would have used. */
  lr: number
  verdict: StepVerdict
}

/** "the loss was NaN", "the gradient norm was Infinity", or both. */
export function describeNonFinite(result: Pick<StepResult, 'loss' | 'gradNorm'>): string {
  const parts: string[] = []
  if (!Number.isFinite(result.loss)) parts.push(`the loss was ${result.loss}`)
  if (!Number.isFinite(result.gradNorm)) parts.push(`the gradient norm was ${result.gradNorm}`)
  return parts.length === 0 ? 'the step was finite' : parts.join(' and ')
}

/** One line for the progress output when a step fails: what was not finite and what was done. */
export function describeFailedStep(result: StepResult, guard: NanGuard): string {
  const what = `step ${result.step}: ${describeNonFinite(result)}`
  if (result.verdict === 'skip') return `${what}; skipped the update and halved the learning rate (x${guard.lrScale} of the schedule)`
  return `${what}; stopping`
}

/** What a run that stopped on non-finite steps reports. */
export interface DivergenceReport {
  /** The last (failed) step attempted. */
  step: number
  /** The last failed step's values. */
  last: StepResult
  /** Failed steps in a row when it stopped. */
  inRow: number
  policy: NanPolicy
  /** The step whose state was restored (the last good checkpoint, or the start of the run). */
  restoredStep: number
}

/** How the stop message names the file and the flags to change. */
export interface DivergenceAdvice {
  /** Where the restored model was saved. */
  savedTo: string
  /** The base learning rate and the clipping norm of the run (0 = off). */
  lr: number
  clip: number
  /** The command that continues from the restored file, when there is one (e.g. 'recur train --resume m.recur'). */
  resume?: string
}

/**
 * The RecurError 'NON_FINITE' that ends a diverged run: what was not finite, for how many steps,
 * what was restored and where it is, and what to try (a lower --lr, a tighter --clip).
 */
export function divergenceError(report: DivergenceReport, advice: DivergenceAdvice): RecurError {
  const count = report.inRow === 1 ? 'at one step' : `at ${report.inRow} steps in a row`
  const policy = report.policy === 'stop' ? ' (--nan-policy stop)' : ''
  const message =
    `training stopped at step ${report.step}: ${describeNonFinite(report.last)}, not finite ${count}${policy}; ` +
    `saved the last good weights (step ${report.restoredStep}) to ${advice.savedTo}`
  const lower = formatRate(advice.lr / 4)
  const clip = advice.clip > 0 ? `a tighter --clip (now ${advice.clip}, e.g. ${advice.clip / 2})` : '--clip 1 (clipping is off)'
  const next = advice.resume === undefined ? 'then train again' : `then continue with: ${advice.resume} --lr ${lower}`
  return new RecurError('NON_FINITE', message, `Try a lower --lr (now ${advice.lr}, e.g. ${lower}) or ${clip}, ${next}`)
}

/** A learning rate for a message: 4 significant digits at most. */
function formatRate(lr: number): string {
  return String(Number(lr.toPrecision(4)))
}
