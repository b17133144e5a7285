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
export { INIT_SCHEMES, ParamBuilder, ParamStore, type Init, type InitScheme, type Param } from './params.js'
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
export { LanguageModel, defaultArchitecture, type LanguageModelArchitecture, type LanguageModelInitOptions } from './models/language-model.js'
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
export { SequenceClassifier, type ClassifierArchitecture } from './models/classifier.js'
export { SequenceTagger, type TaggerArchitecture } from './models/tagger.js'

// Interoperability: safetensors with PyTorch names and layouts, ONNX export (docs/conventions.md has the mappings)
export {
  SAFETENSORS_DTYPES, SAFETENSORS_MAX_HEADER_BYTES, decodeSafetensors, encodeSafetensors, tensorToFloat32,
  type DecodedSafetensors, type SafetensorsDtype, type SafetensorsInput, type SafetensorsTensor,
} from './io/safetensors.js'
export {
  LANGUAGE_MODEL_NAMES, PYTORCH_MODULE_NAMES, TAGGER_NAMES, checkPyTorchExpressible, convertGateBlocks, decodePyTorchSafetensors,
  encodePyTorchSafetensors, fromPyTorch, fromPyTorchStateDict, hasRecurMetadata, inferPyTorchNetwork, pytorchNetworkOf, pytorchShapes,
  recurNameOf, toPyTorch, toPyTorchStateDict, torchNameOf,
  type ModuleNames, type PyTorchCompatibleModel, type PyTorchImportConfig, type PyTorchNetwork, type RecurrentModule, type StateTensor,
} from './io/pytorch.js'
export {
  ONNX_IR_VERSION, ONNX_OPSET, classifierToOnnx, exportOnnx, languageModelToOnnx, seq2seqToOnnx, taggerToOnnx,
  type OnnxExportOptions, type OnnxExportable, type OnnxGraph,
} from './io/onnx.js'

// Sequence tasks: encoder-decoder translation from raw text (src/tasks/translate.ts)
export {
  DECODE_FIELDS, TRANSLATE_FIELDS, TRANSLATE_SPECIALS, TextTranslator, resolveDecodeConfig, resolveTranslateConfig, trainTranslator, translateTokenizers,
  translationBatch,
  type DecodeConfig, type EncodedPair, type TranslateConfig, type TranslateEvaluation, type TranslateExample, type Translation,
  type TranslationBatch, type TranslationCandidate,
} from './tasks/translate.js'
