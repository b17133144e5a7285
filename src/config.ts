/**
 * One table of language-model training settings, with a documented default per field. The library
 * reads it through `resolveTrainConfig`, and the CLI builds the flags of `recur train` from it, so
 * `--help`, the API defaults and the docs cannot disagree.
 */
import { RecurError } from './errors.js'

/**
 * One setting of a settings table (this file's, and the sequence tasks' in `tasks/common.ts`): the
 * CLI flag `--kebab-name` and the config field `camelName` come from it.
 */
export interface SettingField {
  readonly type: 'int' | 'number' | 'string' | 'enum' | 'boolean'
  readonly values?: readonly string[]
  /** Absent: the default depends on other settings, as the description says. */
  readonly default?: number | string | boolean
  readonly min?: number
  readonly max?: number
  readonly description: string
  readonly placeholder?: string
}

/** A setting of `TRAIN_FIELDS`: every one has a default. */
interface Field extends SettingField {
  readonly default: number | string | boolean
}

/** Every training setting: its type, default, bounds and a one-line description. */
export const TRAIN_FIELDS = {
  cell: { type: 'enum', values: ['rnn', 'gru', 'lstm'], default: 'lstm', description: 'Recurrent cell' },
  layers: { type: 'int', default: 2, min: 1, max: 16, description: 'Stacked recurrent layers' },
  hidden: { type: 'int', default: 256, min: 1, max: 8192, description: 'Hidden units per layer (H)' },
  embedding: { type: 'int', default: -1, min: -1, max: 8192, description: 'Embedding width; 0 = one-hot input, -1 = 0 at char level, 128 at word level' },
  reset: { type: 'enum', values: ['after', 'before'], default: 'after', description: "GRU reset gate: 'after' (PyTorch/cuDNN) or 'before' (the course note)" },
  peephole: { type: 'boolean', default: false, description: 'LSTM peephole connections' },
  dropout: { type: 'number', default: 0, min: 0, max: 0.95, description: 'Dropout between recurrent layers' },
  level: { type: 'enum', values: ['char', 'word'], default: 'char', description: 'Tokens: characters or words' },
  lowercase: { type: 'boolean', default: false, description: 'Lower-case the text (always on at word level unless --no-lowercase)' },
  vocabSize: { type: 'int', default: 0, min: 0, description: 'Largest vocabulary, special tokens included (0 = no limit)' },
  minCount: { type: 'int', default: 1, min: 1, description: 'Leave out tokens seen fewer times (they become <UNK>)' },
  batch: { type: 'int', default: 32, min: 1, max: 65536, description: 'Parallel streams per step (B)' },
  seqLength: { type: 'int', default: 64, min: 1, max: 100000, description: 'Tokens per window, the truncated-BPTT span (T)' },
  steps: { type: 'int', default: 2000, min: 1, description: 'Training steps' },
  lr: { type: 'number', default: 0.004, min: 0, description: 'Learning rate' },
  optimizer: { type: 'enum', values: ['adam', 'adamw', 'sgd'], default: 'adam', description: 'Optimizer' },
  weightDecay: { type: 'number', default: 0, min: 0, description: 'Weight decay (L2 for adam/sgd, decoupled for adamw)' },
  schedule: { type: 'enum', values: ['constant', 'cosine', 'step'], default: 'cosine', description: 'Learning-rate schedule' },
  warmup: { type: 'int', default: 0, min: 0, description: 'Linear warm-up steps' },
  clip: { type: 'number', default: 5, min: 0, description: 'Clip gradients to this global norm (0 = off)' },
  nanPolicy: { type: 'enum', values: ['skip', 'stop'], default: 'skip', description: 'A step whose loss or gradient is NaN/Infinity: skip it and halve the learning rate, or stop at once (both restore the last checkpoint when stopping)' },
  nanLimit: { type: 'int', default: 5, min: 1, max: 1000000, description: 'With --nan-policy skip: stop after this many non-finite steps in a row' },
  seed: { type: 'int', default: 1, min: 0, max: 4294967295, description: 'Random seed (weights, dropout, samples)' },
  valFraction: { type: 'number', default: 0.1, min: 0, max: 0.5, description: 'Share of the corpus held out for validation (its end)' },
  valEvery: { type: 'int', default: 200, min: 0, description: 'Validate every N steps (0 = only at the end)' },
  valTokens: { type: 'int', default: 10000, min: 0, description: 'Validation tokens used during training (0 = all)' },
  patience: { type: 'int', default: 0, min: 0, description: 'Early stopping: stop after N validations without improvement (0 = off)' },
  sampleEvery: { type: 'int', default: 200, min: 0, description: 'Print a sample every N steps (0 = never)' },
  checkpointEvery: { type: 'int', default: 500, min: 0, description: 'Save a checkpoint every N steps (0 = only at the end)' },
} as const satisfies Record<string, Field>

/**
 * The defaults above size a model for a fast backend (native: a 2 x 256 LSTM trains 2000 steps in
 * about two minutes on 2 cores). On the plain-TypeScript reference backend that would take hours,
 * so `recur train` uses this smaller profile there unless the user sets any of its fields
 * (about three minutes on 2 cores, still with samples that visibly improve).
 */
export const REFERENCE_PROFILE = { layers: 1, hidden: 64, batch: 16, steps: 1000, lr: 0.01, checkpointEvery: 250 } as const satisfies Partial<Record<keyof typeof TRAIN_FIELDS, number>>

/**
 * Settings of a `recur train` run that are not the trainer's options but that a checkpoint records
 * with them, so that `--resume` keeps checkpointing, validating and sampling as the run did.
 */
export const RUN_SETTINGS = ['checkpointEvery', 'valEvery', 'valTokens', 'sampleEvery', 'patience'] as const

export type RunSettings = Pick<TrainConfig, (typeof RUN_SETTINGS)[number]>

type FieldValue<F extends Field> = F['type'] extends 'enum' ? NonNullable<F['values']>[number] : F['type'] extends 'boolean' ? boolean : F['type'] extends 'string' ? string : number

/** Language-model training settings. Every field's default is in TRAIN_FIELDS. */
export type TrainConfig = { -readonly [K in keyof typeof TRAIN_FIELDS]: FieldValue<(typeof TRAIN_FIELDS)[K]> }

/** The defaults, as a TrainConfig. */
export function defaultTrainConfig(): TrainConfig {
  return Object.fromEntries(Object.entries(TRAIN_FIELDS).map(([k, f]) => [k, f.default])) as TrainConfig
}

/** Fills in defaults and checks every value against its field. */
export function resolveTrainConfig(partial: Partial<TrainConfig> = {}): TrainConfig {
  const config = { ...defaultTrainConfig(), ...partial } as Record<string, unknown>
  for (const [name, f] of Object.entries(TRAIN_FIELDS) as [string, Field][]) checkSetting('config', name, f, config[name])
  if (!((config['lr'] as number) > 0)) throw new RecurError('OPTION', `lr must be greater than 0, got ${config['lr']}`)
  for (const key of Object.keys(partial)) {
    if (!(key in TRAIN_FIELDS)) throw new RecurError('OPTION', `unknown config field '${key}'`, `Known: ${Object.keys(TRAIN_FIELDS).join(', ')}`)
  }
  return config as TrainConfig
}

/**
 * Checks one setting's value against its field: the type, the allowed values and the bounds.
 * @param what names the settings in the message: `${what}.${name}: expected ..., got ...`
 * @param hint the error's hint, if any
 * @throws RecurError 'OPTION' for a bad value.
 */
export function checkSetting(what: string, name: string, field: SettingField, value: unknown, hint?: string): void {
  const { type, values, min, max } = field
  const bad = (expected: string) => new RecurError('OPTION', `${what}.${name}: expected ${expected}, got ${JSON.stringify(value)}`, hint)
  if (type === 'enum' && !values!.includes(value as string)) throw bad(`one of ${values!.join(', ')}`)
  if (type === 'boolean' && typeof value !== 'boolean') throw bad('true or false')
  if (type === 'string' && typeof value !== 'string') throw bad('a string')
  if (type === 'int' || type === 'number') {
    if (typeof value !== 'number' || !Number.isFinite(value) || (type === 'int' && !Number.isInteger(value))) throw bad(type === 'int' ? 'an integer' : 'a number')
    if ((min !== undefined && value < min) || (max !== undefined && value > max)) throw bad(`a value in [${min ?? '-inf'}, ${max ?? 'inf'}]`)
  }
}

/** 'seqLength' -> 'seq-length': the CLI flag of a config field. */
export function flagName(field: string): string {
  return field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}
