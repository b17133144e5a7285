/**
 * "Did you mean" for error messages: the closest of some known names to a name that was not found,
 * and a short list of known names.
 *
 * Browser-safe: no `node:` imports.
 */

import { editDistance } from './metrics.js'

/**
 * The known name closest to `name`, or undefined when none is close: a name equal to it but for
 * case wins; otherwise the one at the smallest edit distance (over code points, case ignored) if
 * that distance is at most max(2, a third of the name's length). Ties go to the earlier name.
 */
export function closestMatch(name: string, known: Iterable<string>): string | undefined {
  const wanted = [...name.toLowerCase()]
  const limit = Math.max(2, Math.ceil(wanted.length / 3))
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of known) {
    if (candidate === name) continue
    const distance = editDistance(wanted, [...candidate.toLowerCase()])
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return bestDistance <= limit ? best : undefined
}

/** The first `most` names, quoted and comma-separated, then "and N more" if there are more. */
export function listSome(names: readonly string[], most = 10): string {
  const shown = names.slice(0, most).map((name) => JSON.stringify(name))
  const more = names.length - shown.length
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ')
}

/** 'Did you mean "x"? ' for the closest known name (see `closestMatch`), or '' when none is close. */
export function didYouMean(name: string, known: Iterable<string>): string {
  const match = closestMatch(name, known)
  return match === undefined ? '' : `Did you mean ${JSON.stringify(match)}? `
}
