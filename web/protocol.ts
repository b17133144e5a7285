/**
 * The messages between the demo page (app.ts) and its training worker (worker.ts). The page only
 * draws; the worker owns the model and does all the arithmetic, so the page never freezes.
 */
import type { CellKind } from '../src/browser.js'

/** What the page asks for when it starts a new model. Defaults: `DEFAULT_SETTINGS` in session.ts. */
export interface TrainSettings {
  cell: CellKind
  layers: number
  /** H: hidden units per layer. */
  hidden: number
  /** B: parallel streams per step. */
  batch: number
  /** T: tokens per window (the truncated-BPTT span). */
  seqLength: number
  lr: number
  /** Seed of the weights and of the samples shown while training (seed + step, as `recur train`). */
  seed: number
}

/** What "Sample now" asks for; the same meaning as the flags of `recur sample`. */
export interface SampleRequest {
  length: number
  temperature: number
  seed: number
  /** Text to start from; it begins the sample, as `recur sample --prime` prints it first. */
  prime: string
}

/** A one-screen description of the model the worker holds. */
export interface ModelSummary {
  /** e.g. 'char-level GRU, 1 x 64'. */
  title: string
  cell: CellKind
  layers: number
  hidden: number
  level: 'char' | 'word'
  vocabularySize: number
  parameters: number
  /** Steps trained so far (from the file for a loaded model). */
  step: number
  /** Where the training text came from, when known. */
  corpus: string | null
  trainTokens: number
  valTokens: number
}

export type ToWorker =
  | { type: 'train'; text: string; corpusName: string; settings: TrainSettings; temperature: number }
  | { type: 'pause' }
  | { type: 'resume'; text: string; corpusName: string; temperature: number }
  | { type: 'temperature'; value: number }
  | { type: 'sample'; request: SampleRequest }
  | { type: 'save' }
  | { type: 'load'; bytes: ArrayBuffer; name: string }

/** Losses of the steps run since the last progress message. */
export interface ProgressPoint {
  step: number
  loss: number
}

/** The GPU the WebGPU backend runs on, as its adapter names itself. */
export interface AdapterNote {
  name: string
  /** A CPU implementation of WebGPU (e.g. SwiftShader): correct, not fast. */
  software: boolean
}

export type FromWorker =
  | { type: 'hello'; backend: string; backends: string[]; adapter: AdapterNote | null; note: string | null }
  | { type: 'model'; summary: ModelSummary; loaded: boolean }
  | { type: 'state'; state: 'training' | 'paused' }
  | { type: 'progress'; points: ProgressPoint[]; step: number; valLoss: number | null; tokensPerSecond: number; seconds: number }
  | { type: 'sample'; text: string; step: number; temperature: number; seed: number; manual: boolean }
  | { type: 'saved'; bytes: ArrayBuffer; fileName: string }
  | { type: 'error'; message: string; during: ToWorker['type'] | 'startup' }
