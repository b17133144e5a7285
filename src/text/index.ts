/**
 * The browser-safe part of the text layer: tokenizers, vocabulary, special tokens. Reading corpus
 * files (node:fs) lives in `./corpus.js` and is not re-exported here, so that a browser bundle can
 * import this module.
 */

export { BOS, EOS, PAD, UNK } from './special-tokens.js'
export {
  TokenStream,
  createTokenStream,
  defaultTokenizerOptions,
  detokenize,
  resolveTokenizerOptions,
  tokenize,
  type TokenizerOptions,
  type TokenizerOptionsInput,
} from './tokenizers.js'
export {
  DEFAULT_MAX_DISTINCT_TOKENS,
  DEFAULT_SPECIALS,
  TokenCounter,
  Vocabulary,
  compareCodePoints,
  type EncodeOptions,
  type TokenCounterOptions,
  type VocabularyBuildOptions,
  type VocabularyJSON,
} from './vocabulary.js'
