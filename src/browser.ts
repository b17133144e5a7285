/**
 * recur for the browser (and Web Workers): the public API without what needs Node. `index.ts`
 * re-exports all of this and adds the Node-only rest.
 *
 * Left out, because they read or write files with `node:` modules: reading a corpus from a path
 * (`readCorpusFile`, `buildVocabularyFromFile`, `decodeCorpus`), `loadModelFile` / `saveModelFile`,
 * and the file-based sequence-task pipeline (`src/tasks/`). Also left out: ONNX export (see the
 * note at its place below). test/web/bundle.test.ts checks that what index.ts adds is Node-only
 * or left out on purpose. In a page, a model file is bytes:
 * `decodeLanguageModel(new Uint8Array(await file.arrayBuffer()), kernels)` reads one from a file
 * input or a fetch, and `encodeLanguageModel(bundle)` gives the bytes of a download.
 *
 * The backend registry holds only the backends a browser can run ('reference'); the native addon
 * is registered on Node only and its loader is never imported here. Bundlers pick this file through
 * the `browser` condition of the package's `exports` map; test/web/bundle.test.ts bundles it and
 * checks the result for `node:` modules, Node built-ins and addon loaders.
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
export { renderLossPlotSvg, type LossPlotOptions, type LossPoint } from './train/plot.js'

// Language models
export { LanguageModel, defaultArchitecture, type LanguageModelArchitecture, type LanguageModelInitOptions } from './models/language-model.js'
export { LanguageModelTrainer, TokenStreams, evaluateStream, type TrainerOptions, type TrainerState } from './train/language-model-trainer.js'
export { chooseToken, sampleTokens, scoreTokens, startToken, type ChooseOptions, type SampleOptions, type SentenceScore } from './decode/sampling.js'
export {
  LANGUAGE_MODEL_KIND, decodeLanguageModel, encodeLanguageModel, languageModelFileContents,
  type CorpusInfo, type LanguageModelBundle, type TrainingInfo,
} from './models/language-model-file.js'

// Sequence models (the file-based training pipeline of src/tasks/ is Node-only)
export { SequenceClassifier, type ClassifierArchitecture } from './models/classifier.js'
export { SequenceTagger, type TaggerArchitecture } from './models/tagger.js'

// Text
export { BOS, EOS, PAD, UNK, Vocabulary, TokenCounter, type VocabularyBuildOptions, type VocabularyJSON, type EncodeOptions } from './text/vocabulary.js'
export { createTokenStream, defaultTokenizerOptions, detokenize, tokenize, type TokenizerOptions, type TokenizerOptionsInput } from './text/tokenizers.js'

// Model files, as bytes
export { decodeModelFile, encodeModelFile, type DecodedModelFile, type ModelFileInput, type ModelTensor } from './io/model-format.js'

// Interoperability, as bytes: safetensors with PyTorch names and layouts. (ONNX export is Node-only
// for now: its protobuf encoder, the CommonJS package onnx-proto, adds about 120 KB to every bundle
// that imports this entry, since bundlers cannot drop a CommonJS module that is not used.)
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
