/** Every fuzz target, by name: one per parser of files that may come from strangers. */
import type { FuzzTarget } from '../target.js'
import { corpusTarget, csvTarget, jsonlTarget, tsvTarget } from './datasets.js'
import { languageModelTarget } from './language-model.js'
import { modelFileTarget } from './model-file.js'
import { pytorchImportTarget } from './pytorch-import.js'
import { safetensorsTarget } from './safetensors.js'
import { taskModelTarget } from './task-model.js'

export const TARGETS: ReadonlyMap<string, FuzzTarget> = new Map([
  modelFileTarget, languageModelTarget, taskModelTarget, safetensorsTarget, pytorchImportTarget, jsonlTarget, csvTarget, tsvTarget, corpusTarget,
].map((target) => [target.name, target]))
