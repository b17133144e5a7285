/**
 * recur: recurrent sequence models (RNN, GRU, LSTM) for TypeScript.
 *
 * Public API; re-exports only. See README.md for a quick start and docs/conventions.md for how
 * gate orders and GRU / LSTM variants map to PyTorch and ONNX.
 */

// Errors and configuration
export { RecurError, type RecurErrorCode } from './errors.js'
export { TRAIN_FIELDS, defaultTrainConfig, resolveTrainConfig, type TrainConfig } from './config.js'
export { Random } from './random.js'

// Kernels and backends
export type { Activation, AdamArgs, BufferHandle, DType, FloatArray, GemmArgs, GruReset, Kernels, SgdArgs } from './kernels/types.js'
export { ReferenceKernels } from './kernels/reference/index.js'
export { backendNames, backendStatus, registerBackend, resolveBackend, type BackendEntry, type BackendStatus } from './kernels/registry.js'

// Parameters, cells and layers
export { ParamBuilder, ParamStore, type Init, type Param } from './params.js'
export { GruCell, LstmCell, RecurrentCell, RnnCell, Workspace, createCell, type CellKind, type CellOptions, type State } from './cells/index.js'
export { Embedding } from './layers/embedding.js'
export { Dense } from './layers/dense.js'
export { RecurrentLayer, StackedRecurrent, type Merge, type RecurrentLayerOptions, type StackedOptions } from './layers/recurrent.js'

// Training pieces
export { BinaryCrossEntropy, SoftmaxCrossEntropy } from './train/losses.js'
export {
  Optimizer, clipGradients, scheduledLr,
  type ClipOptions, type OptimizerKind, type OptimizerOptions, type OptimizerState, type ScheduleKind, type ScheduleOptions,
} from './train/optimizers.js'
export { gradientCheck, type GradientCheckOptions, type GradientCheckResult, type GradientCheckTarget } from './train/gradcheck.js'

// Language models
export { LanguageModel, defaultArchitecture, type LanguageModelArchitecture } from './models/language-model.js'
export { LanguageModelTrainer, TokenStreams, evaluateStream, type TrainerOptions, type TrainerState } from './train/language-model-trainer.js'
export { chooseToken, sampleTokens, scoreTokens, startToken, type SampleOptions, type SentenceScore } from './decode/sampling.js'
export {
  LANGUAGE_MODEL_KIND, decodeLanguageModel, encodeLanguageModel, languageModelFileContents,
  type CorpusInfo, type LanguageModelBundle, type TrainingInfo,
} from './models/language-model-file.js'

// Text
export { BOS, EOS, PAD, UNK, Vocabulary, TokenCounter, type VocabularyBuildOptions, type VocabularyJSON, type EncodeOptions } from './text/vocabulary.js'
export { createTokenStream, defaultTokenizerOptions, detokenize, tokenize, type TokenizerOptions, type TokenizerOptionsInput } from './text/tokenizers.js'
export { buildVocabularyFromFile, decodeCorpus, readCorpusFile } from './text/corpus.js'

// Model files
export { decodeModelFile, encodeModelFile, type DecodedModelFile, type ModelFileInput, type ModelTensor } from './io/model-format.js'
export { loadModelFile, saveModelFile } from './io/model-file.js'
