/**
 * recur: recurrent sequence models (RNN, GRU, LSTM) for TypeScript.
 *
 * Public API; re-exports only. See README.md for a quick start and docs/conventions.md for how
 * gate orders and GRU / LSTM variants map to PyTorch and ONNX.
 *
 * Everything a browser can run is listed once, in `browser.ts` (the entry bundlers get), and
 * re-exported here whole; this file adds only what needs Node: corpus and model files on disk, the
 * file-based sequence-task pipeline of src/tasks/, and ONNX export.
 */

// Errors, configuration, kernels, cells, layers, training pieces, language models, text, model
// files as bytes, sequence models, safetensors and PyTorch interop: the browser-safe API.
export * from './browser.js'

// Text files
export { buildVocabularyFromFile, decodeCorpus, readCorpusFile } from './text/corpus.js'

// Model files on disk
export { loadModelFile, saveModelFile } from './io/model-file.js'

// Sequence tasks: text classification and tagging from raw text (src/tasks/)
export {
  TASK_FIELDS, buildInputVocabulary, configFlags, encodeTokens, inputTokenizer, readRecords, readTrainingData, resolveTaskConfig,
  splitTokens, textTokens, totalSteps, trainTask,
  type ConfigField, type ConfigOf, type SourcedRecord, type StepReport, type TaskConfig, type TaskSession, type TrainHooks, type TrainOutcome, type ValidationScore,
} from './tasks/common.js'
export {
  CLASSIFY_FIELDS, TextClassifier, resolveClassifyConfig, splitLabels, trainClassifier,
  type ClassPrediction, type ClassifyConfig, type ClassifyEvaluation, type ClassifyExample,
} from './tasks/classify.js'
export { TAG_FIELDS, TextTagger, resolveTagConfig, trainTagger, type TagConfig, type TagEvaluation, type TagExample, type TagPrediction } from './tasks/tag.js'

// Sequence tasks: encoder-decoder translation from raw text (src/tasks/translate.ts)
export {
  DECODE_FIELDS, TRANSLATE_FIELDS, TRANSLATE_SPECIALS, TextTranslator, resolveDecodeConfig, resolveTranslateConfig, trainTranslator, translateTokenizers,
  translationBatch,
  type DecodeConfig, type EncodedPair, type TranslateConfig, type TranslateEvaluation, type TranslateExample, type Translation,
  type TranslationBatch, type TranslationCandidate,
} from './tasks/translate.js'

// ONNX export
export {
  ONNX_IR_VERSION, ONNX_OPSET, classifierToOnnx, exportOnnx, languageModelToOnnx, seq2seqToOnnx, taggerToOnnx,
  type OnnxExportOptions, type OnnxExportable, type OnnxGraph,
} from './io/onnx.js'
