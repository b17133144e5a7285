/**
 * Evaluation metrics for the sequence tasks: classification (softmax and multi-label sigmoid),
 * tagging (token accuracy, BIO entities) and encoder-decoder output (exact match, token error rate).
 * Pure functions on plain arrays; nothing here knows about models or backends.
 *
 * Definitions, stated once (K classes, N examples):
 * - confusion C (K,K): C[i][j] = number of examples whose true class is i and predicted class is j
 *   (rows = true, columns = predicted).
 * - for class k: tp = C[k][k], fp = Σi≠k C[i][k], fn = Σj≠k C[k][j], support = Σj C[k][j].
 *   precision = tp / (tp + fp), recall = tp / (tp + fn), F1 = 2·P·R / (P + R) = 2tp / (2tp + fp + fn).
 *   A ratio whose denominator is 0 is 0 (scikit-learn's zero_division=0).
 * - accuracy = Σk C[k][k] / N.
 * - macro average (precision, recall, F1) = the plain mean over the classes that occur, in the
 *   truth or in the predictions (support + predicted > 0); a class absent from both says nothing
 *   about the model and is left out (scikit-learn does the same when it is not given the labels).
 * - multi-label (N,K) of 0/1: micro P/R/F1 pool tp, fp, fn over all N·K cells; macro F1 is the mean
 *   of the per-label F1 over the labels that occur; exact match = fraction of rows right in all K.
 * - entity P/R/F1 (conlleval): an entity is a maximal span of one type, tp = entities in both
 *   truth and prediction with the same start, end and type.
 * - token error rate = Σ editDistance(prediction, reference) / Σ |reference| (Levenshtein over
 *   tokens: insertions, deletions and substitutions each cost 1), the word error rate of speech
 *   recognition when tokens are words.
 *
 * Browser-safe: no `node:` imports.
 */

import { RecurError } from '../errors.js'
import { compareCodePoints } from '../text/vocabulary.js'

// ---------------------------------------------------------------------------------------------
// Classification

/** Precision, recall, F1 and support of one class (or one entity type, or one label). */
export interface ClassScores {
  /** tp / (tp + fp); 0 when nothing was predicted as this class. */
  precision: number
  /** tp / (tp + fn); 0 when the class never occurs in the truth. */
  recall: number
  /** 2·P·R / (P + R); 0 when both are 0. */
  f1: number
  /** Number of true examples of this class: tp + fn. */
  support: number
  /** Number of examples predicted as this class: tp + fp. */
  predicted: number
}

/** Everything `classificationReport` measures. */
export interface ClassificationReport {
  /** Number of examples, N. */
  total: number
  /** Fraction predicted right: Σk C[k][k] / N. */
  accuracy: number
  /** Per class k = 0..K-1. */
  perClass: ClassScores[]
  /** Means over the classes that occur (see the module comment). */
  macroPrecision: number
  macroRecall: number
  macroF1: number
  /** Confusion matrix (K,K): rows = true class, columns = predicted class. */
  confusion: number[][]
}

/**
 * Fraction of examples whose predicted class equals the true one.
 * @throws RecurError 'SHAPE' for arrays of different lengths, 'DATA' for no examples.
 */
export function accuracy(truth: ArrayLike<number>, predicted: ArrayLike<number>): number {
  checkPair('accuracy', truth, predicted)
  let correct = 0
  for (let i = 0; i < truth.length; i++) if (truth[i] === predicted[i]) correct++
  return correct / truth.length
}

/**
 * The confusion matrix C (K,K): C[i][j] counts the examples of true class i predicted as j.
 * @throws RecurError 'SHAPE' for arrays of different lengths, 'DATA' for no examples, 'RANGE' for a
 *   class id outside [0, K).
 */
export function confusionMatrix(truth: ArrayLike<number>, predicted: ArrayLike<number>, K: number): number[][] {
  checkPair('confusionMatrix', truth, predicted)
  checkClassCount('confusionMatrix', K)
  const confusion = Array.from({ length: K }, () => new Array<number>(K).fill(0))
  for (let n = 0; n < truth.length; n++) {
    const i = checkClass('confusionMatrix', 'true class', truth[n]!, n, K)
    const j = checkClass('confusionMatrix', 'predicted class', predicted[n]!, n, K)
    confusion[i]![j]!++
  }
  return confusion
}

/** Precision, recall, F1 and support of each class, from a confusion matrix (rows = true). */
export function perClassScores(confusion: readonly (readonly number[])[]): ClassScores[] {
  const K = confusion.length
  const scores: ClassScores[] = []
  for (let k = 0; k < K; k++) {
    let support = 0
    let predicted = 0
    for (let j = 0; j < K; j++) support += confusion[k]![j]!
    for (let i = 0; i < K; i++) predicted += confusion[i]![k]!
    scores.push(scoresFromCounts(confusion[k]![k]!, predicted, support))
  }
  return scores
}

/**
 * Accuracy, per-class scores, macro averages and the confusion matrix of K-class predictions.
 * @throws what `confusionMatrix` throws.
 */
export function classificationReport(truth: ArrayLike<number>, predicted: ArrayLike<number>, K: number): ClassificationReport {
  const confusion = confusionMatrix(truth, predicted, K)
  const perClass = perClassScores(confusion)
  let correct = 0
  for (let k = 0; k < K; k++) correct += confusion[k]![k]!
  const macro = macroAverage(perClass)
  return {
    total: truth.length,
    accuracy: correct / truth.length,
    perClass,
    macroPrecision: macro.precision,
    macroRecall: macro.recall,
    macroF1: macro.f1,
    confusion,
  }
}

/** Means of precision, recall and F1 over the entries that occur (support + predicted > 0); 0 if none does. */
export function macroAverage(scores: readonly ClassScores[]): { precision: number; recall: number; f1: number } {
  let count = 0
  let precision = 0
  let recall = 0
  let f1 = 0
  for (const s of scores) {
    if (s.support + s.predicted === 0) continue
    count++
    precision += s.precision
    recall += s.recall
    f1 += s.f1
  }
  if (count === 0) return { precision: 0, recall: 0, f1: 0 }
  return { precision: precision / count, recall: recall / count, f1: f1 / count }
}

/** The macro-averaged F1 of K-class predictions (see `macroAverage`). */
export function macroF1(truth: ArrayLike<number>, predicted: ArrayLike<number>, K: number): number {
  return classificationReport(truth, predicted, K).macroF1
}

// ---------------------------------------------------------------------------------------------
// Multi-label (one sigmoid per label)

/** Scores of multi-label predictions. */
export interface MultiLabelReport {
  /** Number of examples, N. */
  total: number
  /** Pooled over all N·K cells: tp / (tp + fp), tp / (tp + fn), and their F1. */
  microPrecision: number
  microRecall: number
  microF1: number
  /** Means over the labels that occur (see `macroAverage`). */
  macroPrecision: number
  macroRecall: number
  macroF1: number
  /** Fraction of examples with all K labels right (subset accuracy). */
  exactMatch: number
  /** Per label k = 0..K-1. */
  perLabel: ClassScores[]
}

/**
 * Micro and macro scores of multi-label predictions.
 * @param truth (N,K) flat, row n holds example n's K labels as 0 or 1
 * @param predicted (N,K) flat, 0 or 1 (threshold the sigmoid outputs first, e.g. at 0.5)
 * @throws RecurError 'SHAPE' for sizes that are not N·K alike, 'DATA' for no examples, 'RANGE' for
 *   a value other than 0 and 1.
 */
export function multiLabelReport(truth: ArrayLike<number>, predicted: ArrayLike<number>, K: number): MultiLabelReport {
  const operation = 'multiLabelReport'
  checkClassCount(operation, K)
  checkPair(operation, truth, predicted)
  if (truth.length % K !== 0) {
    throw new RecurError('SHAPE', `${operation}: ${truth.length} values are not N rows of K = ${K} labels`)
  }
  const N = truth.length / K
  const tp = new Array<number>(K).fill(0)
  const support = new Array<number>(K).fill(0)
  const predictedCount = new Array<number>(K).fill(0)
  let exact = 0
  for (let n = 0; n < N; n++) {
    let rowRight = true
    for (let k = 0; k < K; k++) {
      const y = checkBinary(operation, 'truth', truth[n * K + k]!, n * K + k)
      const p = checkBinary(operation, 'predicted', predicted[n * K + k]!, n * K + k)
      tp[k]! += y & p
      support[k]! += y
      predictedCount[k]! += p
      if (y !== p) rowRight = false
    }
    if (rowRight) exact++
  }
  const perLabel = tp.map((t, k) => scoresFromCounts(t, predictedCount[k]!, support[k]!))
  const micro = scoresFromCounts(sum(tp), sum(predictedCount), sum(support))
  const macro = macroAverage(perLabel)
  return {
    total: N,
    microPrecision: micro.precision,
    microRecall: micro.recall,
    microF1: micro.f1,
    macroPrecision: macro.precision,
    macroRecall: macro.recall,
    macroF1: macro.f1,
    exactMatch: exact / N,
    perLabel,
  }
}

// ---------------------------------------------------------------------------------------------
// Tagging

/**
 * Fraction of real (unmasked) tokens whose predicted tag equals the true one:
 * Σ mask·[truth = predicted] / Σ mask. Takes padded (T,B) arrays with their mask, or unpadded
 * flat arrays without one.
 * @param mask 1 for a real token, 0 for padding; every position counts when it is left out
 * @throws RecurError 'SHAPE' for arrays of different lengths, 'DATA' when no token is real.
 */
export function tokenAccuracy(truth: ArrayLike<number>, predicted: ArrayLike<number>, mask?: ArrayLike<number>): number {
  const operation = 'tokenAccuracy'
  if (truth.length !== predicted.length) {
    throw new RecurError('SHAPE', `${operation}: ${truth.length} true tags but ${predicted.length} predicted ones`)
  }
  if (mask !== undefined && mask.length !== truth.length) {
    throw new RecurError('SHAPE', `${operation}: mask has ${mask.length} values for ${truth.length} tags`)
  }
  let real = 0
  let correct = 0
  for (let i = 0; i < truth.length; i++) {
    if (mask !== undefined && mask[i] === 0) continue
    real++
    if (truth[i] === predicted[i]) correct++
  }
  if (real === 0) throw new RecurError('DATA', `${operation}: no real tokens to score (every position is masked or there are none)`)
  return correct / real
}

/** One entity: tokens [start, end) of one type. */
export interface Entity {
  type: string
  /** Index of its first token. */
  start: number
  /** One past its last token. */
  end: number
}

/** Entity-level scores of BIO tagging. */
export interface EntityReport {
  /** Entities right (same start, end and type) / entities predicted; 0 if none predicted. */
  precision: number
  /** Entities right / true entities; 0 if there are none. */
  recall: number
  /** 2·P·R / (P + R); 0 when both are 0. */
  f1: number
  /** Entities right in both span and type. */
  correct: number
  /** Entities in the predictions. */
  predicted: number
  /** Entities in the truth. */
  support: number
  /** The same scores per entity type, types in code-point order. */
  perType: Map<string, ClassScores>
}

const BIO_TAG = /^([BI])-(.+)$/s

/** True if every label is 'O', 'B-TYPE' or 'I-TYPE', so that entity scores apply. */
export function isBioLabelSet(labels: Iterable<string>): boolean {
  let any = false
  for (const label of labels) {
    any = true
    if (label !== 'O' && !BIO_TAG.test(label)) return false
  }
  return any
}

/**
 * The entities of one tag sequence, with conlleval's rules for BIO:
 * - 'B-X' starts an entity of type X;
 * - 'I-X' continues the entity before it if that one has type X and ends just before;
 * - 'I-X' after 'O', at the start, or after a tag of another type starts a new entity of type X
 *   (an ill-formed start counts as an entity, as in conlleval);
 * - 'O' is outside every entity.
 * @throws RecurError 'DATA' for a tag that is none of O, B-X, I-X.
 */
export function bioEntities(tags: readonly string[]): Entity[] {
  const entities: Entity[] = []
  let open: Entity | null = null
  for (let t = 0; t < tags.length; t++) {
    const tag = tags[t]!
    if (tag === 'O') {
      open = null
      continue
    }
    const match = BIO_TAG.exec(tag)
    if (match === null) {
      throw new RecurError('DATA', `bioEntities: tag ${JSON.stringify(tag)} at position ${t} is not O, B-TYPE or I-TYPE`, 'Entity scores need BIO tags; use token accuracy for other tag sets')
    }
    const prefix = match[1]!
    const type = match[2]!
    if (prefix === 'I' && open !== null && open.type === type) {
      open.end = t + 1
    } else {
      open = { type, start: t, end: t + 1 }
      entities.push(open)
    }
  }
  return entities
}

/**
 * Entity-level precision, recall and F1 of BIO tagging (conlleval semantics, see `bioEntities`):
 * an entity counts as right only if its span and type both match a true entity exactly.
 * @param truth the true tags, one array per sentence
 * @param predicted the predicted tags, same shape
 * @throws RecurError 'SHAPE' for sentences or tags that do not pair up, 'DATA' for a non-BIO tag.
 */
export function entityReport(truth: readonly (readonly string[])[], predicted: readonly (readonly string[])[]): EntityReport {
  const operation = 'entityReport'
  if (truth.length !== predicted.length) {
    throw new RecurError('SHAPE', `${operation}: ${truth.length} true sentences but ${predicted.length} predicted ones`)
  }
  const counts = new Map<string, { correct: number; predicted: number; support: number }>()
  const countsOf = (type: string): { correct: number; predicted: number; support: number } => {
    let entry = counts.get(type)
    if (entry === undefined) {
      entry = { correct: 0, predicted: 0, support: 0 }
      counts.set(type, entry)
    }
    return entry
  }
  for (let s = 0; s < truth.length; s++) {
    const trueTags = truth[s]!
    const predictedTags = predicted[s]!
    if (trueTags.length !== predictedTags.length) {
      throw new RecurError('SHAPE', `${operation}: sentence ${s} has ${trueTags.length} true tags but ${predictedTags.length} predicted ones`)
    }
    const trueEntities = bioEntities(trueTags)
    const predictedEntities = bioEntities(predictedTags)
    const trueKeys = new Set(trueEntities.map(entityKey))
    for (const entity of trueEntities) countsOf(entity.type).support++
    for (const entity of predictedEntities) {
      const entry = countsOf(entity.type)
      entry.predicted++
      if (trueKeys.has(entityKey(entity))) entry.correct++
    }
  }
  const perType = new Map<string, ClassScores>()
  let correct = 0
  let predictedTotal = 0
  let support = 0
  for (const type of [...counts.keys()].sort(compareCodePoints)) {
    const entry = counts.get(type)!
    perType.set(type, scoresFromCounts(entry.correct, entry.predicted, entry.support))
    correct += entry.correct
    predictedTotal += entry.predicted
    support += entry.support
  }
  const overall = scoresFromCounts(correct, predictedTotal, support)
  return { precision: overall.precision, recall: overall.recall, f1: overall.f1, correct, predicted: predictedTotal, support, perType }
}

function entityKey(entity: Entity): string {
  return `${entity.start}:${entity.end}:${entity.type}`
}

// ---------------------------------------------------------------------------------------------
// Encoder-decoder

/**
 * Levenshtein distance between two token sequences: the fewest insertions, deletions and
 * substitutions (each costing 1) that turn `a` into `b`. Tokens compare with ===; a string is a
 * sequence of UTF-16 units (spread it, [...text], for code points). O(|a|·|b|) time, O(|b|) memory.
 */
export function editDistance<T>(a: ArrayLike<T>, b: ArrayLike<T>): number {
  const m = a.length
  const n = b.length
  if (m === 0) return n
  if (n === 0) return m
  // row[j] = distance between a[0, i) and b[0, j), for the current i.
  const row = new Array<number>(n + 1)
  for (let j = 0; j <= n; j++) row[j] = j
  for (let i = 1; i <= m; i++) {
    let diagonal = row[0]! // distance(a[0, i-1), b[0, j-1))
    row[0] = i
    const ai = a[i - 1]
    for (let j = 1; j <= n; j++) {
      const above = row[j]! // distance(a[0, i-1), b[0, j))
      const substitute = diagonal + (ai === b[j - 1] ? 0 : 1)
      row[j] = Math.min(substitute, above + 1, row[j - 1]! + 1)
      diagonal = above
    }
  }
  return row[n]!
}

/** Scores of predicted token sequences against references. */
export interface SequenceReport {
  /** Number of sequences. */
  total: number
  /** Fraction of predictions equal to their reference, token for token. */
  exactMatch: number
  /** Σ editDistance / Σ |reference|. */
  tokenErrorRate: number
  /** Σ editDistance(prediction, reference). */
  editDistance: number
  /** Σ |reference|. */
  referenceTokens: number
}

/**
 * Exact-match accuracy and token error rate of predicted sequences.
 * @throws RecurError 'SHAPE' for lists of different lengths, 'DATA' for no sequences or references
 *   that are all empty (the rate is undefined).
 */
export function sequenceReport<T>(references: readonly ArrayLike<T>[], predictions: readonly ArrayLike<T>[]): SequenceReport {
  const operation = 'sequenceReport'
  checkPair(operation, references, predictions)
  let exact = 0
  let distance = 0
  let referenceTokens = 0
  for (let i = 0; i < references.length; i++) {
    const reference = references[i]!
    const prediction = predictions[i]!
    const d = editDistance(prediction, reference)
    if (d === 0 && prediction.length === reference.length) exact++
    distance += d
    referenceTokens += reference.length
  }
  if (referenceTokens === 0) {
    throw new RecurError('DATA', `${operation}: all ${references.length} references are empty, so the token error rate is undefined`)
  }
  return { total: references.length, exactMatch: exact / references.length, tokenErrorRate: distance / referenceTokens, editDistance: distance, referenceTokens }
}

/** Fraction of predictions equal to their reference, token for token. */
export function exactMatchAccuracy<T>(references: readonly ArrayLike<T>[], predictions: readonly ArrayLike<T>[]): number {
  checkPair('exactMatchAccuracy', references, predictions)
  let exact = 0
  for (let i = 0; i < references.length; i++) if (sameTokens(references[i]!, predictions[i]!)) exact++
  return exact / references.length
}

/** Σ editDistance(prediction, reference) / Σ |reference| (see `sequenceReport`). */
export function tokenErrorRate<T>(references: readonly ArrayLike<T>[], predictions: readonly ArrayLike<T>[]): number {
  return sequenceReport(references, predictions).tokenErrorRate
}

function sameTokens<T>(a: ArrayLike<T>, b: ArrayLike<T>): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

// ---------------------------------------------------------------------------------------------
// Text tables (for the CLI; the library never prints)

/**
 * The confusion matrix as a text table, true classes down, predicted classes across:
 * ```
 * true \ predicted  neg  pos
 * neg                 8    2
 * pos                 1    9
 * ```
 * @throws RecurError 'SHAPE' when the matrix is not K x K for K labels.
 */
export function formatConfusionMatrix(confusion: readonly (readonly number[])[], labels: readonly string[]): string {
  const K = labels.length
  if (confusion.length !== K || confusion.some((row) => row.length !== K)) {
    throw new RecurError('SHAPE', `formatConfusionMatrix: expected a ${K} x ${K} matrix for ${K} labels`)
  }
  const corner = 'true \\ predicted'
  const rowHeadWidth = Math.max(width(corner), ...labels.map(width))
  const columnWidths = labels.map((label, j) => Math.max(width(label), ...confusion.map((row) => String(row[j]).length)))
  const lines = [[padEnd(corner, rowHeadWidth), ...labels.map((label, j) => padStart(label, columnWidths[j]!))].join('  ')]
  for (let i = 0; i < K; i++) {
    lines.push([padEnd(labels[i]!, rowHeadWidth), ...confusion[i]!.map((count, j) => padStart(String(count), columnWidths[j]!))].join('  '))
  }
  return lines.map((line) => line.trimEnd()).join('\n')
}

/** One row of a score table. */
export interface ScoreRow {
  name: string
  precision: number
  recall: number
  f1: number
  support: number
}

/**
 * A table of precision, recall, F1 and support, scores to 4 decimals:
 * ```
 *              precision  recall      f1  support
 * neg             0.8889  0.8000  0.8421       10
 * ```
 */
export function formatScoreTable(rows: readonly ScoreRow[]): string {
  const headers = ['precision', 'recall', 'f1', 'support']
  const cells = rows.map((row) => [row.precision.toFixed(4), row.recall.toFixed(4), row.f1.toFixed(4), String(row.support)])
  const nameWidth = Math.max(0, ...rows.map((row) => width(row.name)))
  const widths = headers.map((header, c) => Math.max(header.length, ...cells.map((line) => line[c]!.length)))
  const lines = [[' '.repeat(nameWidth), ...headers.map((header, c) => padStart(header, widths[c]!))].join('  ')]
  rows.forEach((row, r) => lines.push([padEnd(row.name, nameWidth), ...cells[r]!.map((cell, c) => padStart(cell, widths[c]!))].join('  ')))
  return lines.map((line) => line.trimEnd()).join('\n')
}

/**
 * The per-class table of a classification report, then its macro average and accuracy, in the
 * layout of scikit-learn's classification_report.
 * @throws RecurError 'SHAPE' when there is not one label per class.
 */
export function formatClassificationReport(report: ClassificationReport, labels: readonly string[]): string {
  if (labels.length !== report.perClass.length) {
    throw new RecurError('SHAPE', `formatClassificationReport: ${labels.length} labels for ${report.perClass.length} classes`)
  }
  const rows: ScoreRow[] = report.perClass.map((scores, k) => ({ name: labels[k]!, ...scores }))
  rows.push({ name: 'macro avg', precision: report.macroPrecision, recall: report.macroRecall, f1: report.macroF1, support: report.total })
  return `${formatScoreTable(rows)}\naccuracy ${report.accuracy.toFixed(4)} (${Math.round(report.accuracy * report.total)} of ${report.total})`
}

/** The per-type table of an entity report, then the overall scores. */
export function formatEntityReport(report: EntityReport): string {
  const rows: ScoreRow[] = [...report.perType].map(([type, scores]) => ({ name: type, ...scores }))
  rows.push({ name: 'all entities', precision: report.precision, recall: report.recall, f1: report.f1, support: report.support })
  return formatScoreTable(rows)
}

// ---------------------------------------------------------------------------------------------
// Helpers

function scoresFromCounts(tp: number, predicted: number, support: number): ClassScores {
  const precision = predicted === 0 ? 0 : tp / predicted
  const recall = support === 0 ? 0 : tp / support
  const f1 = predicted + support === 0 ? 0 : (2 * tp) / (predicted + support)
  return { precision, recall, f1, support, predicted }
}

function checkPair(operation: string, truth: ArrayLike<unknown>, predicted: ArrayLike<unknown>): void {
  if (truth.length !== predicted.length) {
    throw new RecurError('SHAPE', `${operation}: ${truth.length} true values but ${predicted.length} predicted ones`)
  }
  if (truth.length === 0) throw new RecurError('DATA', `${operation}: no examples to score`)
}

function checkClassCount(operation: string, K: number): void {
  if (!Number.isInteger(K) || K < 1) throw new RecurError('RANGE', `${operation}: K = ${K}, expected an integer >= 1 (the number of classes)`)
}

function checkClass(operation: string, what: string, value: number, index: number, K: number): number {
  if (!Number.isInteger(value) || value < 0 || value >= K) {
    throw new RecurError('RANGE', `${operation}: ${what} ${value} at index ${index} is not an integer in [0, ${K - 1}]`)
  }
  return value
}

function checkBinary(operation: string, what: string, value: number, index: number): number {
  if (value !== 0 && value !== 1) {
    throw new RecurError('RANGE', `${operation}: ${what} value ${value} at index ${index} is not 0 or 1`, 'Threshold probabilities first (e.g. p >= 0.5)')
  }
  return value
}

function sum(values: readonly number[]): number {
  let total = 0
  for (const value of values) total += value
  return total
}

/** Display width in code points (close enough for labels; wide CJK glyphs count as one). */
function width(text: string): number {
  let n = 0
  for (const _ of text) n++
  return n
}

function padStart(text: string, size: number): string {
  return ' '.repeat(Math.max(0, size - width(text))) + text
}

function padEnd(text: string, size: number): string {
  return text + ' '.repeat(Math.max(0, size - width(text)))
}
