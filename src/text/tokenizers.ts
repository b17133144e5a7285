/**
 * Tokenizers: text -> tokens -> text, at two levels.
 *
 * - 'char': one token per Unicode code point (not per UTF-16 unit: an emoji written as a
 *   surrogate pair is one token). Whitespace, '\n' included, is kept as tokens, so
 *   `detokenize(tokenize(text))` gives the text back exactly (with lowercase off and punctuation
 *   kept).
 * - 'word': words, numbers and single marks, split on Unicode classes (letters \p{L}, numbers
 *   \p{N}, combining marks \p{M}). Whitespace separates tokens and is not kept.
 *
 * Word rules, stated once:
 * - A word is a run of letters, numbers and combining marks. Apostrophes (' ’) and hyphens (- ‐ ‑)
 *   between two such runs join them ("don't", "e-mail", "state-of-the-art"); at a run's edge they
 *   are marks of their own ("'tis" is ' tis). A '.' or ',' between two decimal digits joins the
 *   digits too ("3.14", "1,000", "v1.2.3"). Nothing else joins: "e.g." is e . g .
 * - Han, Hiragana and Katakana characters (scripts written without spaces) are one token each,
 *   following BERT's basic tokenizer; without this a Chinese paragraph would be a single "word".
 * - Every other non-space code point is its own token (punctuation, symbols, emoji), with the
 *   code points that belong to it attached: combining marks, emoji skin-tone modifiers, tag
 *   characters, and zero-width-joiner sequences ("👨‍👩‍👧" is one token); two regional indicators
 *   make one flag token ("🇫🇷").
 * - 'punctuation: drop' removes the tokens whose first code point is punctuation (category \p{P});
 *   symbols (\p{S}: emoji, currency, math) are always kept.
 * - 'lowercase' lowers each word as a whole (so Greek final sigma is right); at char level each code
 *   point is lowered on its own (no context), which may give more than one code point ("İ").
 *
 * End-of-sequence tokens (`<EOS>`), by the `eos` option:
 * - 'sentence': after a sentence terminator (. ! ? … and every other Unicode Sentence_Terminal),
 *   and after any closing brackets or quotes that follow it, when the next character is whitespace
 *   or the end of the text. Ideographic terminators (。！？) end a sentence whatever follows. There
 *   is no abbreviation list: "Mr. Smith" ends a sentence after "Mr.".
 * - 'line': after each line that produced at least one token ('\n' ends a line; the end of the
 *   text ends the last one). At char level the `<EOS>` goes just before the '\n'.
 * - 'none': never.
 *
 * Streaming: `createTokenStream(options)` tokenizes text that arrives in chunks and gives exactly
 * the tokens `tokenize` gives on the whole text, wherever the chunks are cut (even inside a
 * surrogate pair). `tokenize` itself is one push and one end on such a stream.
 *
 * Browser-safe: no `node:` imports.
 */

import { RecurError } from '../errors.js'
import { BOS, EOS, PAD } from './special-tokens.js'

/** How text is cut into tokens. Every field has a default per level: see `defaultTokenizerOptions`. */
export interface TokenizerOptions {
  /** 'char': one token per Unicode code point. 'word': words, numbers and single marks. */
  level: 'char' | 'word'
  /** Lower-case the tokens. Default: false at char level, true at word level. */
  lowercase: boolean
  /** 'drop' removes punctuation tokens (category \p{P}). Default 'keep' at both levels. */
  punctuation: 'keep' | 'drop'
  /** Where to insert `<EOS>`: 'none', after each 'line', or after each 'sentence'. Default: 'none' at char level, 'sentence' at word level. */
  eos: 'none' | 'line' | 'sentence'
}

/** Tokenizer options as callers give them: `level` is required, the other fields default per level. */
export type TokenizerOptionsInput = Pick<TokenizerOptions, 'level'> & Partial<Omit<TokenizerOptions, 'level'>>

/**
 * The documented defaults for a level.
 * - char: `{ lowercase: false, punctuation: 'keep', eos: 'none' }` (what char-rnn does: every
 *   character, newlines included, is a token).
 * - word: `{ lowercase: true, punctuation: 'keep', eos: 'sentence' }`.
 */
export function defaultTokenizerOptions(level: 'char' | 'word'): TokenizerOptions {
  if (level === 'char') return { level, lowercase: false, punctuation: 'keep', eos: 'none' }
  if (level === 'word') return { level, lowercase: true, punctuation: 'keep', eos: 'sentence' }
  throw new RecurError('OPTION', `defaultTokenizerOptions: unknown level ${JSON.stringify(level)}`, "use 'char' or 'word'")
}

const OPTION_VALUES: { readonly [K in keyof TokenizerOptions]: readonly TokenizerOptions[K][] } = {
  level: ['char', 'word'],
  lowercase: [false, true],
  punctuation: ['keep', 'drop'],
  eos: ['none', 'line', 'sentence'],
}

/**
 * Fills in the defaults for `input.level` and checks every field.
 * @throws RecurError 'OPTION' for an unknown field or value.
 */
export function resolveTokenizerOptions(input: TokenizerOptionsInput): TokenizerOptions {
  if (typeof input !== 'object' || input === null) {
    throw new RecurError('OPTION', `tokenizer options: expected an object, got ${String(input)}`, "pass at least { level: 'char' } or { level: 'word' }")
  }
  for (const key of Object.keys(input)) {
    // Own fields only: `key in` would take 'toString' or 'constructor' (from Object.prototype) for options.
    if (!Object.hasOwn(OPTION_VALUES, key)) {
      throw new RecurError('OPTION', `tokenizer options: unknown field "${key}"`, `the fields are ${Object.keys(OPTION_VALUES).join(', ')}`)
    }
  }
  if (!OPTION_VALUES.level.includes(input.level)) {
    throw new RecurError('OPTION', `tokenizer options: level ${JSON.stringify(input.level)} is not one of 'char', 'word'`)
  }
  const options: TokenizerOptions = { ...defaultTokenizerOptions(input.level), ...input }
  for (const key of Object.keys(OPTION_VALUES) as (keyof TokenizerOptions)[]) {
    const allowed: readonly unknown[] = OPTION_VALUES[key]
    if (!allowed.includes(options[key])) {
      const list = allowed.map((value) => JSON.stringify(value)).join(', ')
      throw new RecurError('OPTION', `tokenizer options: ${key} ${JSON.stringify(options[key])} is not one of ${list}`)
    }
  }
  return options
}

// ---------------------------------------------------------------------------------------------
// Character classes. The word-level token pattern needs the 'v' flag (class set difference and
// intersection): Node >= 20 and every current browser have it.

/** Letters and numbers of the scripts written without spaces: one token each at word level. */
const IDEOGRAPH = String.raw`[[\p{L}\p{N}]&&[\p{scx=Han}\p{scx=Hira}\p{scx=Kana}]]`
/** What words are made of. */
const WORD_CHAR = String.raw`[[\p{L}\p{N}\p{M}]--${IDEOGRAPH}]`
/** Joins two runs of word characters: an apostrophe or hyphen, or '.' / ',' between digits. */
const WORD_JOINER = String.raw`(?:['’\-‐‑]|(?<=\p{Nd})[.,](?=\p{Nd}))`
/** Code points that belong to the mark or symbol before them. */
const ATTACHED = String.raw`(?:\p{M}|[\u{1F3FB}-\u{1F3FF}\u{E0020}-\u{E007F}]|\u{200D}\p{Extended_Pictographic})`

/**
 * One token or one run of whitespace, matched at `lastIndex` (sticky): whitespace | word |
 * ideograph | anything else (punctuation, symbol, emoji; `[^]` is the catch-all, so every position
 * matches). Which alternative matched follows from the first code point (`wordLevelKind`); the
 * pattern has no capture groups because each would cost an allocation per token.
 */
const WORD_LEVEL_PATTERN = new RegExp(
  String.raw`\s+|${WORD_CHAR}+(?:${WORD_JOINER}${WORD_CHAR}+)*|${IDEOGRAPH}\p{M}*|(?:\p{RI}\p{RI}|[^])${ATTACHED}*`,
  'vy',
)
const WHITESPACE_AT = /\s/uy
const WORD_CHAR_AT = new RegExp(WORD_CHAR, 'vy')
const IDEOGRAPH_AT = new RegExp(IDEOGRAPH, 'vy')

const enum WordLevelKind {
  Whitespace = 0,
  /** A word or an ideograph. */
  Word = 1,
  /** Punctuation, a symbol, an emoji. */
  Mark = 2,
}

/** The kind of every ASCII code unit, so that the common case needs no regular expression. */
const ASCII_KINDS = new Uint8Array(128).fill(WordLevelKind.Mark)
for (const unit of [9, 10, 11, 12, 13, 32]) ASCII_KINDS[unit] = WordLevelKind.Whitespace
for (let unit = 48; unit < 58; unit++) ASCII_KINDS[unit] = WordLevelKind.Word
for (let unit = 65; unit < 91; unit++) ASCII_KINDS[unit] = WordLevelKind.Word
for (let unit = 97; unit < 123; unit++) ASCII_KINDS[unit] = WordLevelKind.Word

/** Which alternative of WORD_LEVEL_PATTERN matches at `index`, from the code point there. */
function wordLevelKind(text: string, index: number): WordLevelKind {
  const unit = text.charCodeAt(index)
  if (unit < 128) return ASCII_KINDS[unit]!
  WHITESPACE_AT.lastIndex = index
  if (WHITESPACE_AT.test(text)) return WordLevelKind.Whitespace
  WORD_CHAR_AT.lastIndex = index
  if (WORD_CHAR_AT.test(text)) return WordLevelKind.Word
  IDEOGRAPH_AT.lastIndex = index
  return IDEOGRAPH_AT.test(text) ? WordLevelKind.Word : WordLevelKind.Mark
}

/**
 * How far past a token's end the pattern may look to decide where the token ends: two code points
 * (a joiner and the word character after it; a zero-width joiner and the emoji after it), which is
 * at most four UTF-16 units. A streamed token that ends closer than this to the end of the text seen
 * so far waits for the next chunk.
 */
const LOOKAHEAD_UNITS = 4

const PUNCTUATION = /^\p{P}/u
const IDEOGRAPHIC_TERMINATOR = /^[。！？｡]/u
const TERMINATOR = /^[\p{Sentence_Terminal}…]/u
/** Closing brackets and quotes, which stay inside the sentence they close. */
const CLOSER = /^[\p{Pe}\p{Pf}"']/u
const WHITESPACE = /^\s/u

/** Where the sentence-end state machine stands after the last token. */
const enum SentenceState {
  Open = 0,
  /** After a terminator (and maybe closers) that ends the sentence if whitespace or the end follows. */
  AfterTerminator = 1,
  /** After an ideographic terminator (and maybe closers): the sentence ends whatever follows. */
  AfterIdeographicTerminator = 2,
}

const enum CharKind {
  Other = 0,
  Whitespace = 1,
  Newline = 2,
  Terminator = 3,
  IdeographicTerminator = 4,
  Closer = 5,
}

interface CharInfo {
  readonly kind: CharKind
  /** The tokens this code point becomes (lower-cased if asked; empty if dropped). */
  readonly tokens: readonly string[]
}

function classifyMark(token: string): CharKind {
  if (IDEOGRAPHIC_TERMINATOR.test(token)) return CharKind.IdeographicTerminator
  if (TERMINATOR.test(token)) return CharKind.Terminator
  if (CLOSER.test(token)) return CharKind.Closer
  return CharKind.Other
}

/**
 * Tokenizes text that arrives in chunks (a file read piece by piece). `push` returns the tokens
 * that are complete so far and keeps an unfinished trailing token for the next chunk; `end` returns
 * the rest. The concatenation of everything returned equals `tokenize(wholeText, options)`.
 *
 * Memory: only the unfinished token and a few code points after it are kept between chunks.
 */
export class TokenStream {
  /** The resolved options this stream tokenizes with. */
  readonly options: TokenizerOptions
  /** Text received but not tokenized yet: an unfinished token and what follows it. */
  private held = ''
  private ended = false
  private sentence = SentenceState.Open
  /** Whether the current line produced a token (word level) or a non-space character (char level). */
  private lineHasTokens = false
  /** Char level: what each code point seen so far is and becomes; by UTF-16 unit for the BMP (the common case, no hashing). */
  private readonly charInfo = new Map<string, CharInfo>()
  private readonly unitInfo: (CharInfo | undefined)[] = []

  constructor(options: TokenizerOptionsInput) {
    this.options = resolveTokenizerOptions(options)
  }

  /**
   * Adds the next piece of text and returns the tokens it completes.
   * @throws RecurError 'STATE' after `end`.
   */
  push(chunk: string): string[] {
    if (this.ended) {
      throw new RecurError('STATE', 'TokenStream.push: the stream has ended', 'create a new stream with createTokenStream')
    }
    if (typeof chunk !== 'string') {
      throw new RecurError('OPTION', `TokenStream.push: expected a string, got ${typeof chunk}`)
    }
    return this.scan(this.held + chunk, false)
  }

  /**
   * Ends the text: returns the tokens still held back, and the final `<EOS>` where one is due.
   * @throws RecurError 'STATE' if called twice.
   */
  end(): string[] {
    if (this.ended) {
      throw new RecurError('STATE', 'TokenStream.end: the stream has already ended', 'create a new stream with createTokenStream')
    }
    const tokens = this.scan(this.held, true)
    this.ended = true
    if (this.options.eos === 'sentence' && this.sentence !== SentenceState.Open) tokens.push(EOS)
    if (this.options.eos === 'line' && this.lineHasTokens) tokens.push(EOS)
    this.sentence = SentenceState.Open
    this.lineHasTokens = false
    return tokens
  }

  private scan(text: string, final: boolean): string[] {
    const tokens: string[] = []
    const consumed = this.options.level === 'char' ? this.scanChars(text, final, tokens) : this.scanWords(text, final, tokens)
    this.held = consumed === text.length ? '' : text.slice(consumed)
    return tokens
  }

  // ---- word level

  private scanWords(text: string, final: boolean, tokens: string[]): number {
    const pattern = WORD_LEVEL_PATTERN
    let consumed = 0
    while (consumed < text.length) {
      pattern.lastIndex = consumed
      pattern.test(text) // always matches: the pattern's last alternative takes any code point
      const end = pattern.lastIndex
      const kind = wordLevelKind(text, consumed)
      if (kind === WordLevelKind.Whitespace) {
        this.wordLevelWhitespace(text, consumed, end, tokens)
      } else if (!final && text.length - end < LOOKAHEAD_UNITS && !(end < text.length && wordLevelKind(text, end) === WordLevelKind.Whitespace)) {
        break // the token might go on in the next chunk (no token goes on past whitespace)
      } else if (kind === WordLevelKind.Mark) {
        this.wordLevelMark(text.slice(consumed, end), tokens)
      } else {
        this.wordLevelWord(text.slice(consumed, end), tokens)
      }
      consumed = end
    }
    return consumed
  }

  /** text[start, end) is a run of whitespace. */
  private wordLevelWhitespace(text: string, start: number, end: number, tokens: string[]): void {
    if (this.sentence !== SentenceState.Open) {
      tokens.push(EOS)
      this.sentence = SentenceState.Open
    }
    if (this.options.eos === 'line' && this.lineHasTokens) {
      for (let index = start; index < end; index++) {
        if (text.charCodeAt(index) === 10) {
          tokens.push(EOS)
          this.lineHasTokens = false
          break
        }
      }
    }
  }

  private wordLevelWord(word: string, tokens: string[]): void {
    if (this.sentence === SentenceState.AfterIdeographicTerminator) tokens.push(EOS)
    this.sentence = SentenceState.Open
    tokens.push(this.options.lowercase ? word.toLowerCase() : word)
    this.lineHasTokens = true
  }

  private wordLevelMark(mark: string, tokens: string[]): void {
    const drop = this.options.punctuation === 'drop' && PUNCTUATION.test(mark)
    if (this.options.eos === 'sentence') {
      const kind = classifyMark(mark)
      if (this.sentence !== SentenceState.Open && kind !== CharKind.Closer) {
        if (this.sentence === SentenceState.AfterIdeographicTerminator) tokens.push(EOS)
        this.sentence = SentenceState.Open
      }
      if (kind === CharKind.Terminator) this.sentence = SentenceState.AfterTerminator
      if (kind === CharKind.IdeographicTerminator) this.sentence = SentenceState.AfterIdeographicTerminator
    }
    if (!drop) {
      tokens.push(mark)
      this.lineHasTokens = true
    }
  }

  // ---- char level

  private scanChars(text: string, final: boolean, tokens: string[]): number {
    const eos = this.options.eos
    let index = 0
    while (index < text.length) {
      const unit = text.charCodeAt(index)
      const isHighSurrogate = unit >= 0xd800 && unit <= 0xdbff
      if (isHighSurrogate && index + 1 === text.length && !final) break // its low half comes next
      const width = isHighSurrogate && index + 1 < text.length && isLowSurrogate(text.charCodeAt(index + 1)) ? 2 : 1
      let info = width === 1 ? this.unitInfo[unit] : undefined
      if (info === undefined) {
        info = this.describeChar(width === 1 ? text[index]! : text.slice(index, index + 2))
        if (width === 1) this.unitInfo[unit] = info
      }
      index += width
      if (eos === 'sentence') {
        if (this.sentence !== SentenceState.Open && info.kind !== CharKind.Closer) {
          const isSpace = info.kind === CharKind.Whitespace || info.kind === CharKind.Newline
          if (isSpace || this.sentence === SentenceState.AfterIdeographicTerminator) tokens.push(EOS)
          this.sentence = SentenceState.Open
        }
        if (info.kind === CharKind.Terminator) this.sentence = SentenceState.AfterTerminator
        if (info.kind === CharKind.IdeographicTerminator) this.sentence = SentenceState.AfterIdeographicTerminator
      } else if (eos === 'line' && info.kind === CharKind.Newline) {
        if (this.lineHasTokens) tokens.push(EOS)
        this.lineHasTokens = false
      }
      for (const token of info.tokens) tokens.push(token)
      if (info.tokens.length > 0 && info.kind !== CharKind.Whitespace && info.kind !== CharKind.Newline) {
        this.lineHasTokens = true
      }
    }
    return index
  }

  private describeChar(char: string): CharInfo {
    let info = this.charInfo.get(char)
    if (info === undefined) {
      const punctuation = PUNCTUATION.test(char)
      let kind = classifyMark(char)
      if (char === '\n') kind = CharKind.Newline
      else if (WHITESPACE.test(char)) kind = CharKind.Whitespace
      let produced: string[] = []
      if (!(punctuation && this.options.punctuation === 'drop')) {
        produced = this.options.lowercase ? Array.from(char.toLowerCase()) : [char]
      }
      info = { kind, tokens: produced }
      this.charInfo.set(char, info)
    }
    return info
  }
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff
}

/** A `TokenStream` with the given options (level required, the rest defaulted). */
export function createTokenStream(options: TokenizerOptionsInput): TokenStream {
  return new TokenStream(options)
}

/**
 * Cuts `text` into tokens. See the module comment for the rules of each level.
 * @example tokenize("Don't panic. 🇫🇷!", { level: 'word' }) // ["don't", 'panic', '.', '<EOS>', '🇫🇷', '!', '<EOS>']
 * @throws RecurError 'OPTION' for invalid options.
 */
export function tokenize(text: string, options: TokenizerOptionsInput): string[] {
  if (typeof text !== 'string') {
    throw new RecurError('OPTION', `tokenize: expected a string, got ${typeof text}`)
  }
  const stream = new TokenStream(options)
  const tokens = stream.push(text)
  for (const token of stream.end()) tokens.push(token)
  return tokens
}

// ---------------------------------------------------------------------------------------------
// Detokenize

/** Word-level tokens written without a space before them: closing marks and sentence punctuation. */
const NO_SPACE_BEFORE = /^[\p{Pe}\p{Pf}.,;:!?%…‼⁇⁈⁉、。，．！？：；｡､]/u
/** Word-level tokens written without a space after them: opening brackets and quotes, and $ £ # @. */
const NO_SPACE_AFTER = /^[\p{Ps}\p{Pi}¿¡$£#@]/u
/** Han, Kana and full-width marks: written without spaces between tokens. */
const STARTS_UNSPACED = /^[\p{scx=Han}\p{scx=Hira}\p{scx=Kana}\u3000-\u303f\uff00-\uffef]/u
const ENDS_UNSPACED = /[\p{scx=Han}\p{scx=Hira}\p{scx=Kana}\u3000-\u303f\uff00-\uffef]$/u

/**
 * Turns tokens back into text.
 * - char level: the tokens are concatenated; `<EOS>`, `<PAD>` and `<BOS>` are left out, so the
 *   text comes back exactly (lowercasing and dropped punctuation aside).
 * - word level: tokens are joined with single spaces, except: no space before closing punctuation
 *   (. , ; : ! ? % ) ] } » ” …), none after opening marks (( [ { « “ ¿ ¡ $ £ # @), straight quotes " and '
 *   alternate between opening and closing, and none next to Han/Kana tokens or full-width
 *   punctuation. `<EOS>` becomes a line break when `eos` is 'line' and nothing otherwise (the
 *   space after the sentence's last mark already separates sentences). `<PAD>` and `<BOS>` are
 *   left out; `<UNK>` is written as is.
 * Whitespace is not recorded at word level, so `tokenize(detokenize(tokens))` equals `tokens` for
 * ordinary prose but the original spacing is not recovered.
 */
export function detokenize(tokens: readonly string[], options: TokenizerOptionsInput): string {
  const resolved = resolveTokenizerOptions(options)
  if (resolved.level === 'char') {
    let text = ''
    for (const token of tokens) {
      if (token !== EOS && token !== PAD && token !== BOS) text += token
    }
    return text
  }
  let text = ''
  let spaceBefore = false
  let previous = ''
  let doubleQuoteOpen = false
  let singleQuoteOpen = false
  for (const token of tokens) {
    if (token === EOS) {
      if (resolved.eos === 'line') {
        text += '\n'
        spaceBefore = false
        previous = ''
        doubleQuoteOpen = false
        singleQuoteOpen = false
      }
      continue
    }
    if (token === PAD || token === BOS || token === '') continue
    let space = spaceBefore
    let spaceAfter = true
    if (token === '"' || token === "'") {
      const open: boolean = token === '"' ? doubleQuoteOpen : singleQuoteOpen
      if (open) space = false
      else spaceAfter = false
      if (token === '"') doubleQuoteOpen = !open
      else singleQuoteOpen = !open
    } else if (NO_SPACE_BEFORE.test(token)) {
      space = false
    } else if (NO_SPACE_AFTER.test(token)) {
      spaceAfter = false
    }
    if (STARTS_UNSPACED.test(token) || ENDS_UNSPACED.test(previous)) space = false
    if (space) text += ' '
    text += token
    previous = token
    spaceBefore = spaceAfter
  }
  return text
}
