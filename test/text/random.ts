/** A seeded random source for the text tests (mulberry32), so that every run sees the same cases. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number
  /** Uniform integer in [0, n). */
  below(n: number): number
  /** One element of `items`. */
  pick<T>(items: readonly T[]): T
}

export function seededRandom(seed: number): Random {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const below = (n: number): number => Math.floor(next() * n)
  return { next, below, pick: (items) => items[below(items.length)]! }
}

/** Pieces that exercise the tokenizer rules: joiners, marks, surrogate pairs, CJK, terminators, closers, line ends. */
export const TEXT_PIECES: readonly string[] = [
  'word', 'Don', "don't", "'", '’', 'e-mail', '-', '‐', 'state-of-the-art', '3.14', '1,000', '3', '.', ',', '!', '?', '…',
  '"', '»', ')', '(', '」', '。', '！', '？', '我爱猫', 'コーヒー', 'Ça', 'e\u0301', '\u0301', 'ΟΔΟΣ', 'İstanbul', 'straße',
  '😀', '👍🏽', '👨‍👩‍👧', '🇫🇷', '\u200d', '1️⃣', '$', '€', '_', 'a', 'Z', '9', ' ', ' ', '  ', '\n', '\n\n', '\r\n', '\t', '\u00a0',
  '\u2028', 'Mr.', 'v1.2.3', '<EOS>', '<', '>', '\ud83d', '\ude00',
]

/** A random text made of TEXT_PIECES. */
export function randomText(random: Random, pieces: number): string {
  let text = ''
  for (let i = 0; i < pieces; i++) text += random.pick(TEXT_PIECES)
  return text
}
