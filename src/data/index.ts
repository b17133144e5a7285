/**
 * The browser-safe part of the data layer: parsing dataset text, label sets, padded batches and
 * batch order, and the metrics. Reading dataset files (node:fs) lives in `./datasets.js` and is not
 * re-exported here, so that a browser bundle can import this module.
 */

export {
  DATASET_FORMATS,
  formatFromPath,
  parseDataset,
  unescapeTsv,
  type Dataset,
  type DatasetFormat,
  type DatasetRecord,
  type FieldValue,
} from './parse.js'
export { LabelSet, splitTags, type LabelSetJSON, type LabelSetOptions } from './labels.js'
export {
  batchOrder,
  gridLength,
  longestLength,
  multiHot,
  padBatch,
  padLabels,
  padTargets,
  shuffleInPlace,
  splitTrainValidation,
  type BatchOrderOptions,
  type PadOptions,
  type PaddedBatch,
  type PaddedLabels,
  type PaddedTargets,
} from './batches.js'
export {
  accuracy,
  bioEntities,
  classificationReport,
  confusionMatrix,
  editDistance,
  entityReport,
  exactMatchAccuracy,
  formatClassificationReport,
  formatConfusionMatrix,
  formatEntityReport,
  formatScoreTable,
  isBioLabelSet,
  macroAverage,
  macroF1,
  multiLabelReport,
  perClassScores,
  sequenceReport,
  tokenAccuracy,
  tokenErrorRate,
  type ClassScores,
  type ClassificationReport,
  type Entity,
  type EntityReport,
  type MultiLabelReport,
  type ScoreRow,
  type SequenceReport,
} from './metrics.js'
export { closestMatch, didYouMean, listSome } from './suggest.js'
