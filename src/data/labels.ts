/**
 * Label sets: the two-way map between the labels of a classifier or tagger and the ids 0 .. K-1
 * of its outputs, and the splitting of a per-token label field into its tags.
 *
 * Id order, stated once: a set built from data orders its labels either in code-point order
 * ('alphabetical', the default: "neg" < "pos", "0" < "1", "ham" < "spam", so a binary sigmoid's
 * positive class is id 1 for the usual names) or by count, most frequent first, ties in code-point
 * order ('frequency'). The same labels always give the same ids. A set given explicitly keeps the
 * order given.
 *
 * Browser-safe: no `node:` imports.
 */

import { RecurError, describeValue } from '../errors.js'
import { compareCodePoints } from '../text/vocabulary.js'
import { didYouMean, listSome } from './suggest.js'

/** Options of `LabelSet.fromLabels`. */
export interface LabelSetOptions {
  /** 'alphabetical' (code-point order, the default) or 'frequency' (most frequent first, ties in code-point order). */
  order?: 'alphabetical' | 'frequency'
}

/** The JSON form of a label set: the labels in id order, tagged with the format and its version. */
export interface LabelSetJSON {
  format: 'recur-labels'
  version: 1
  labels: string[]
}

const JSON_FORMAT = 'recur-labels'
const JSON_VERSION = 1

/** The label <-> id map of a classifier's or tagger's outputs. Immutable once made. */
export class LabelSet {
  /** Number of labels, K. Ids run from 0 to K-1. */
  readonly size: number
  /** The labels in id order. */
  readonly labels: readonly string[]
  private readonly ids: ReadonlyMap<string, number>

  private constructor(labels: readonly string[]) {
    this.labels = Object.freeze(labels.slice())
    this.size = labels.length
    this.ids = new Map(labels.map((label, id) => [label, id]))
  }

  /**
   * The set of the distinct labels in `labels` (e.g. every record's label, or every tag of every
   * record), in the order `options.order` asks for.
   * @throws RecurError 'DATA' for no labels or an empty or non-string label, 'OPTION' for an unknown order.
   */
  static fromLabels(labels: Iterable<string>, options: LabelSetOptions = {}): LabelSet {
    const operation = 'LabelSet.fromLabels'
    const order = options.order ?? 'alphabetical'
    if (order !== 'alphabetical' && order !== 'frequency') {
      throw new RecurError('OPTION', `${operation}: unknown order ${JSON.stringify(order)}`, "Use 'alphabetical' or 'frequency'")
    }
    if (labels === null || typeof labels !== 'object' || !(Symbol.iterator in labels)) {
      throw new RecurError('OPTION', `${operation}: expected an iterable of labels, got ${labels === null ? 'null' : typeof labels}`)
    }
    const counts = new Map<string, number>()
    let index = 0
    for (const label of labels) {
      if (typeof label !== 'string' || label === '') {
        throw new RecurError('DATA', `${operation}: label ${index} is ${typeof label === 'string' ? 'empty' : `a ${typeof label}`}`, 'Every record needs a non-empty label')
      }
      counts.set(label, (counts.get(label) ?? 0) + 1)
      index++
    }
    if (counts.size === 0) throw new RecurError('DATA', `${operation}: there are no labels`, 'The dataset has no records with a label')
    const distinct = [...counts.keys()].sort(compareCodePoints)
    if (order === 'frequency') distinct.sort((a, b) => counts.get(b)! - counts.get(a)!) // stable: ties stay in code-point order
    return new LabelSet(distinct)
  }

  /**
   * A set with exactly these labels, label i getting id i (e.g. from a --labels flag).
   * @throws RecurError 'OPTION' for no labels, an empty or non-string label, or a repeated one.
   */
  static fromList(labels: readonly string[]): LabelSet {
    return new LabelSet(checkList(labels, 'LabelSet.fromList', 'OPTION'))
  }

  /**
   * Reads what `toJSON` wrote, as the object or as JSON text.
   * @throws RecurError 'FORMAT' for malformed input (not JSON, wrong format tag, labels that are
   *   not unique non-empty strings), 'VERSION' for another format version.
   */
  static fromJSON(json: unknown): LabelSet {
    const operation = 'LabelSet.fromJSON'
    let value = json
    if (typeof value === 'string') {
      try {
        value = JSON.parse(value)
      } catch (error) {
        throw new RecurError('FORMAT', `${operation}: not valid JSON (${(error as Error).message})`)
      }
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new RecurError('FORMAT', `${operation}: expected an object { format, version, labels }, got ${describe(value)}`)
    }
    const record = value as Record<string, unknown>
    if (record['format'] !== JSON_FORMAT) {
      throw new RecurError('FORMAT', `${operation}: format is ${describe(record['format'])}, expected "${JSON_FORMAT}"`, 'Is this a label set written by recur?')
    }
    if (record['version'] !== JSON_VERSION) {
      throw new RecurError('VERSION', `${operation}: version ${describe(record['version'])} is not supported (this recur reads version ${JSON_VERSION})`)
    }
    const labels = record['labels']
    if (!Array.isArray(labels)) throw new RecurError('FORMAT', `${operation}: labels is ${describe(labels)}, expected an array of strings`)
    return new LabelSet(checkList(labels, operation, 'FORMAT'))
  }

  /** True if the set holds `label`. */
  has(label: string): boolean {
    return this.ids.has(label)
  }

  /**
   * The id of a label.
   * @throws RecurError 'TOKEN' for a label the set does not hold, listing some that it does.
   */
  id(label: string): number {
    const id = this.ids.get(label)
    if (id === undefined) {
      throw new RecurError(
        'TOKEN',
        `LabelSet.id: unknown label ${JSON.stringify(label)} (the ${this.size} known ${this.size === 1 ? 'label is' : 'labels are'} ${listSome(this.labels, 10)})`,
        `${didYouMean(label, this.labels)}The labels come from the training data; a model can only predict and score those`,
      )
    }
    return id
  }

  /** The ids of some labels, in order. @throws what `id` throws. */
  encode(labels: Iterable<string>): Int32Array {
    const ids: number[] = []
    for (const label of labels) ids.push(this.id(label))
    return Int32Array.from(ids)
  }

  /**
   * The label of an id.
   * @throws RecurError 'RANGE' for an id outside [0, K).
   */
  label(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.size) {
      throw new RecurError('RANGE', `LabelSet.label: id ${id} is not an integer in [0, ${this.size - 1}]`)
    }
    return this.labels[id]!
  }

  /** The labels of some ids, in order. @throws what `label` throws. */
  decode(ids: ArrayLike<number>): string[] {
    return Array.from(ids, (id) => this.label(id))
  }

  /** The JSON form, which `fromJSON` reads back. */
  toJSON(): LabelSetJSON {
    return { format: JSON_FORMAT, version: JSON_VERSION, labels: this.labels.slice() }
  }
}

/**
 * The tags of a per-token label field: an array as it is, or a string split at runs of whitespace
 * ("B-PER I-PER O" -> ['B-PER', 'I-PER', 'O']; leading and trailing whitespace ignored; '' -> []).
 * @throws RecurError 'DATA' for an array that holds something other than non-empty strings.
 */
export function splitTags(value: string | readonly string[]): string[] {
  if (typeof value === 'string') {
    const trimmed = value.trim()
    return trimmed === '' ? [] : trimmed.split(/\s+/u)
  }
  if (!Array.isArray(value)) throw new RecurError('DATA', `splitTags: expected a string or an array of tags, got ${describe(value)}`)
  value.forEach((tag, i) => {
    if (typeof tag !== 'string' || tag === '') throw new RecurError('DATA', `splitTags: tag ${i} is ${describe(tag)}, expected a non-empty string`)
  })
  return value.slice()
}

function checkList(labels: readonly unknown[], operation: string, code: 'OPTION' | 'FORMAT'): string[] {
  if (!Array.isArray(labels) || labels.length === 0) {
    throw new RecurError(code, `${operation}: expected a non-empty array of labels, got ${describe(labels)}`)
  }
  const seen = new Map<string, number>()
  labels.forEach((label, id) => {
    if (typeof label !== 'string' || label === '') {
      throw new RecurError(code, `${operation}: label ${id} is ${describe(label)}, expected a non-empty string`)
    }
    const first = seen.get(label)
    if (first !== undefined) throw new RecurError(code, `${operation}: label ${JSON.stringify(label)} appears twice (ids ${first} and ${id})`)
    seen.set(label, id)
  })
  return labels as string[]
}

/** `describeValue`, but an empty array says so (a label list must not be empty). */
function describe(value: unknown): string {
  return Array.isArray(value) && value.length === 0 ? 'an empty array' : describeValue(value)
}
