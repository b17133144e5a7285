/**
 * The special tokens recur reserves. They are written in angle brackets, which the word tokenizer
 * always splits off as punctuation and the char tokenizer splits into single characters, so no
 * text can produce one of them by accident: they only ever come from the tokenizer's own `eos`
 * option or from a vocabulary's specials.
 *
 * Browser-safe: no `node:` imports.
 */

/** Stands for every token the vocabulary does not hold. Every `Vocabulary` has it. */
export const UNK = '<UNK>'
/** End of sentence or line, inserted by the tokenizer when `eos` is 'sentence' or 'line'. */
export const EOS = '<EOS>'
/** Padding, for batches of sequences of unequal length. */
export const PAD = '<PAD>'
/** Beginning of sequence, for decoders that need a start token. */
export const BOS = '<BOS>'
