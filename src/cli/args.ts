/**
 * A small declarative flag parser for the `recur` command line.
 *
 * A command is a plain object: its name, a one-line summary, the usage line, its flags and
 * positional arguments, and examples. `parseArgs` turns argv into typed values (defaults applied)
 * and `formatHelp` renders the `--help` text from the same object, so the two cannot disagree.
 * `parseCommandLine` walks nested command groups (`recur classify train ...`).
 *
 *     const trainCommand = defineCommand({
 *       name: 'train',
 *       summary: 'Train a character-level language model on a text file.',
 *       usage: '<corpus> [flags]',
 *       positionals: [{ name: 'corpus', description: 'UTF-8 text file to learn from' }],
 *       flags: [
 *         { name: 'cell', type: 'enum', values: ['rnn', 'gru', 'lstm'], default: 'lstm', description: 'Recurrent cell' },
 *         { name: 'hidden', type: 'int', default: 128, min: 1, description: 'Hidden units per layer' },
 *         { name: 'seq-length', type: 'int', default: 64, min: 1, description: 'Characters per sequence' },
 *       ],
 *     })
 *     const parsed = parseArgs(trainCommand, ['shakespeare.txt', '--hidden=256'])
 *     if (!parsed.help) parsed.values.seqLength // number: 64
 *
 * Rules:
 * - Flags are written `--name value` or `--name=value`; booleans are `--name` / `--no-name`
 *   (also `--name=true|false`). `--help` / `-h` anywhere before `--` asks for help.
 * - Values are keyed by the camelCase flag name (`seq-length` -> `seqLength`), the spelling of
 *   the `Config` fields they feed.
 * - A flag given twice keeps its last value, so a wrapper script can override a default it set.
 * - `--` ends the flags: everything after it is positional.
 * - A value that starts with '-' is taken only by number flags (`--lr -1` reads -1, then fails
 *   the range check); for other flags write `--prompt=-x`.
 *
 * Every mistake on the command line is a `RecurError` with code 'OPTION' and a one-line message
 * that names the flag and the value and says what is allowed; the hint says what to do next.
 * A malformed command spec is a programming error and also throws (code 'OPTION') on first use.
 */

import { RecurError } from '../errors.js'
import { wrapText, displayWidth, pad } from './format.js'

// ---------------------------------------------------------------------------------------------
// Specs

export type FlagType = 'int' | 'number' | 'string' | 'boolean' | 'enum'
export type FlagValue = number | string | boolean

export interface FlagSpec {
  /** kebab-case, without the dashes: 'seq-length'. */
  readonly name: string
  readonly type: FlagType
  /** The allowed values of an 'enum' flag. */
  readonly values?: readonly string[]
  /** Applied when the flag is absent. Booleans default to false; other flags without one are undefined. */
  readonly default?: FlagValue
  /** Inclusive bounds for 'int' and 'number' flags. */
  readonly min?: number
  readonly max?: number
  /** One short sentence for `--help`, no trailing period needed. */
  readonly description: string
  /** The value's name in `--help`, e.g. 'path' renders `--out <path>`. */
  readonly placeholder?: string
}

export interface PositionalSpec {
  readonly name: string
  readonly description: string
  /** May be left out; optional positionals come after the required ones. */
  readonly optional?: boolean
  /** Takes all remaining arguments (zero or more when optional, one or more otherwise); last only. */
  readonly variadic?: boolean
}

/** A command line to show in `--help`, optionally with a sentence saying what it does. */
export type Example = string | { readonly command: string; readonly description: string }

export interface CommandSpec {
  readonly name: string
  /** One line: what the command does. */
  readonly summary: string
  /**
   * What follows the command path on the usage line, e.g. '<corpus> [flags]' renders
   * `Usage: recur train <corpus> [flags]`. A usage that already starts with the path is kept as is.
   */
  readonly usage: string
  readonly flags: readonly FlagSpec[]
  readonly positionals?: readonly PositionalSpec[]
  readonly examples?: readonly Example[]
}

/** A command with subcommands, such as `recur` itself or `recur classify`. */
export interface CommandGroup {
  readonly name: string
  readonly summary: string
  readonly commands: readonly (CommandSpec | CommandGroup)[]
  /** Printed by `--version`; only read on the top-level group. */
  readonly version?: string
  readonly examples?: readonly Example[]
}

/** Returns `spec` unchanged, keeping its literal types so `parseArgs` can type the values. */
export function defineCommand<const S extends CommandSpec>(spec: S): S {
  checkCommandSpec(spec)
  return spec
}

/** Returns `group` unchanged after checking it (and all its commands) once. */
export function defineGroup<const G extends CommandGroup>(group: G): G {
  checkGroupSpec(group)
  return group
}

// ---------------------------------------------------------------------------------------------
// Typed results

/** 'seq-length' -> 'seqLength'. */
export type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S

type ValueOf<F extends FlagSpec> = F['type'] extends 'int' | 'number'
  ? number
  : F['type'] extends 'string'
    ? string
    : F['type'] extends 'boolean'
      ? boolean
      : F['type'] extends 'enum'
        ? F['values'] extends readonly (infer V extends string)[]
          ? V
          : string
        : FlagValue

type AlwaysSet<F extends FlagSpec> = F['type'] extends 'boolean'
  ? true
  : F extends { readonly default: FlagValue }
    ? true
    : false

/** The parsed flags of a command: one camelCase key per flag; `undefined` only for flags with no default. */
export type FlagValues<Flags extends readonly FlagSpec[]> = {
  readonly [F in Flags[number] as CamelCase<F['name']>]: AlwaysSet<F> extends true ? ValueOf<F> : ValueOf<F> | undefined
}

/** The parsed positionals: string, `string | undefined` when optional, `string[]` when variadic. */
export type PositionalValues<P extends readonly PositionalSpec[] | undefined> = P extends readonly PositionalSpec[]
  ? {
      readonly [Q in P[number] as CamelCase<Q['name']>]: Q extends { readonly variadic: true }
        ? readonly string[]
        : Q extends { readonly optional: true }
          ? string | undefined
          : string
    }
  : Readonly<Record<string, never>>

export interface ParsedCommand<S extends CommandSpec> {
  readonly help: false
  readonly values: FlagValues<S['flags']>
  readonly positionals: PositionalValues<S['positionals']>
  /** camelCase names of the flags written on the command line (defaults not included). */
  readonly given: ReadonlySet<string>
}

/** `help: true` when `--help` or `-h` was given; nothing else was checked then. */
export type ParsedArgs<S extends CommandSpec> = { readonly help: true } | ParsedCommand<S>

export interface ParseOptions {
  /** The command as the user typed it, for messages and help: default `recur <name>`. */
  readonly path?: string
}

// ---------------------------------------------------------------------------------------------
// parseArgs

/**
 * Parses the arguments after the command name. Throws RecurError 'OPTION' for anything that is
 * not allowed, with a one-line message naming the flag, the value and what is allowed.
 */
export function parseArgs<const S extends CommandSpec>(spec: S, argv: readonly string[], options: ParseOptions = {}): ParsedArgs<S> {
  checkCommandSpec(spec)
  const path = options.path ?? `recur ${spec.name}`
  const dashDash = argv.indexOf('--')
  const flagPart = dashDash < 0 ? argv : argv.slice(0, dashDash)
  if (flagPart.includes('--help') || flagPart.includes('-h')) return { help: true }

  const byName = new Map(spec.flags.map((flag) => [flag.name, flag]))
  const values = new Map<string, FlagValue>()
  const given = new Set<string>()
  const positionals: string[] = []

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (i === dashDash) {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (token.startsWith('--') && token.length > 2) {
      const body = token.slice(2)
      const eq = body.indexOf('=')
      const name = eq < 0 ? body : body.slice(0, eq)
      const inline = eq < 0 ? undefined : body.slice(eq + 1)
      let flag = byName.get(name)
      if (flag === undefined && name.startsWith('no-')) {
        const negated = byName.get(name.slice(3))
        if (negated?.type === 'boolean') {
          if (inline !== undefined) {
            throw new RecurError('OPTION', `--${name} takes no value, got --${name}=${inline}`, `Write --${negated.name} or --no-${negated.name}`)
          }
          values.set(negated.name, false)
          given.add(camelCase(negated.name))
          continue
        }
      }
      if (flag === undefined) throw unknownFlag(spec, `--${name}`, name, path)
      let value: FlagValue
      if (flag.type === 'boolean') {
        value = inline === undefined ? true : parseBooleanValue(flag, inline)
      } else {
        let text = inline
        if (text === undefined) {
          const next = argv[i + 1]
          if (next !== undefined && i + 1 !== dashDash && acceptsAsValue(flag, next)) {
            text = next
            i++
          } else {
            throw missingValue(flag, next, byName)
          }
        }
        if (text === '') throw missingValue(flag, undefined, byName)
        value = parseFlagValue(flag, text)
      }
      values.set(flag.name, value)
      given.add(camelCase(flag.name))
      continue
    }
    if (token.startsWith('-') && token.length > 1 && !isNumberLike(token)) {
      // A single-dash flag such as -x or -hidden: only -h exists (handled above).
      throw unknownFlag(spec, token, token.replace(/^-+/, ''), path)
    }
    positionals.push(token)
  }

  const result: Record<string, FlagValue | undefined> = {}
  for (const flag of spec.flags) {
    const value = values.get(flag.name) ?? flag.default ?? (flag.type === 'boolean' ? false : undefined)
    result[camelCase(flag.name)] = value
  }
  return {
    help: false,
    values: result as FlagValues<S['flags']>,
    positionals: assignPositionals(spec, positionals, path) as PositionalValues<S['positionals']>,
    given,
  }
}

function assignPositionals(spec: CommandSpec, args: readonly string[], path: string): Record<string, string | readonly string[] | undefined> {
  const specs = spec.positionals ?? []
  const result: Record<string, string | readonly string[] | undefined> = {}
  let next = 0
  for (const positional of specs) {
    const key = camelCase(positional.name)
    if (positional.variadic === true) {
      const rest = args.slice(next)
      if (rest.length === 0 && positional.optional !== true) throw missingPositional(spec, positional, path)
      result[key] = rest
      next = args.length
    } else if (next < args.length) {
      result[key] = args[next++]
    } else if (positional.optional === true) {
      result[key] = undefined
    } else {
      throw missingPositional(spec, positional, path)
    }
  }
  if (next < args.length) {
    const extra = args[next]!
    const flag = spec.flags.find((f) => f.name === extra || camelCase(f.name) === extra)
    let hint: string
    if (flag !== undefined) hint = `Did you mean --${flag.name}?`
    else if (specs.length === 0) hint = `${path} takes no positional arguments`
    else {
      const names = specs.map((p) => `<${p.name}>`).join(' ')
      hint = `${path} takes ${specs.length === 1 ? 'one argument' : 'the arguments'}: ${names}`
    }
    throw new RecurError('OPTION', `unexpected argument '${extra}'`, hint)
  }
  return result
}

function missingPositional(spec: CommandSpec, positional: PositionalSpec, path: string): RecurError {
  return new RecurError('OPTION', `missing argument <${positional.name}>: ${positional.description}`, `Usage: ${usageLine(spec, path)}`)
}

function acceptsAsValue(flag: FlagSpec, next: string): boolean {
  if (!next.startsWith('-') || next === '-') return true
  return (flag.type === 'int' || flag.type === 'number') && isNumberLike(next)
}

function missingValue(flag: FlagSpec, next: string | undefined, byName: ReadonlyMap<string, FlagSpec>): RecurError {
  const message = `--${flag.name} needs a value (${describeAllowed(flag)})`
  const looksLikeFlag = next !== undefined && (next === '-h' || (next.startsWith('--') && byName.has(next.slice(2).split('=')[0]!)))
  if (next !== undefined && next.startsWith('-') && !looksLikeFlag) {
    return new RecurError('OPTION', message, `Write --${flag.name}=${next} to pass a value that starts with '-'`)
  }
  return new RecurError('OPTION', message, `Write --${flag.name} ${placeholderOf(flag)}`)
}

function parseBooleanValue(flag: FlagSpec, text: string): boolean {
  const lower = text.toLowerCase()
  if (['true', 'yes', 'on', '1'].includes(lower)) return true
  if (['false', 'no', 'off', '0'].includes(lower)) return false
  throw new RecurError('OPTION', `--${flag.name} must be true or false, got '${text}'`, `Write --${flag.name} or --no-${flag.name}`)
}

const NUMBER_PATTERN = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i

function isNumberLike(text: string): boolean {
  return NUMBER_PATTERN.test(text)
}

/** Parses and checks one flag value; throws RecurError 'OPTION' naming the flag and the value. */
function parseFlagValue(flag: FlagSpec, text: string): FlagValue {
  switch (flag.type) {
    case 'string':
      return text
    case 'enum': {
      const allowed = flag.values ?? []
      if (allowed.includes(text)) return text
      const folded = allowed.filter((v) => v.toLowerCase() === text.toLowerCase())
      if (folded.length === 1) return folded[0]!
      const suggestion = closestMatch(text, allowed)
      throw new RecurError(
        'OPTION',
        `--${flag.name} must be one of ${allowed.join(', ')}, got '${text}'`,
        suggestion === undefined ? undefined : `Did you mean ${suggestion}?`,
      )
    }
    case 'int':
    case 'number': {
      const value = isNumberLike(text) ? Number(text) : Number.NaN
      const shown = isNumberLike(text) ? text : `'${text}'`
      const fits =
        Number.isFinite(value) &&
        (flag.type === 'number' || Number.isInteger(value)) &&
        (flag.min === undefined || value >= flag.min) &&
        (flag.max === undefined || value <= flag.max)
      if (!fits) throw new RecurError('OPTION', `--${flag.name} must be ${describeAllowed(flag)}, got ${shown}`)
      return value
    }
    case 'boolean':
      return parseBooleanValue(flag, text)
  }
}

/** 'an integer >= 1', 'a number from 0 to 1', 'one of rnn, gru, lstm', 'a path'. */
function describeAllowed(flag: FlagSpec): string {
  switch (flag.type) {
    case 'int':
    case 'number': {
      const base = flag.type === 'int' ? 'an integer' : 'a number'
      if (flag.min !== undefined && flag.max !== undefined) return `${base} from ${flag.min} to ${flag.max}`
      if (flag.min !== undefined) return `${base} >= ${flag.min}`
      if (flag.max !== undefined) return `${base} <= ${flag.max}`
      return base
    }
    case 'enum':
      return `one of ${(flag.values ?? []).join(', ')}`
    case 'string':
      return flag.placeholder === undefined ? 'a string' : `a ${flag.placeholder}`
    case 'boolean':
      return 'true or false'
  }
}

function unknownFlag(spec: CommandSpec, written: string, name: string, path: string): RecurError {
  const candidates = ['help']
  for (const flag of spec.flags) {
    candidates.push(flag.name)
    if (flag.type === 'boolean') candidates.push(`no-${flag.name}`)
  }
  const suggestion = closestMatch(name, candidates)
  const hint = suggestion === undefined ? `Run \`${path} --help\` to see the flags` : `Did you mean --${suggestion}?`
  return new RecurError('OPTION', `unknown flag ${written} for ${path}`, hint)
}

// ---------------------------------------------------------------------------------------------
// Suggestions

/**
 * The candidate closest to `input` by edit distance (adjacent swaps count as one edit), when it
 * is close enough to be what the user meant; otherwise undefined. Case, '-' and '_' are ignored
 * first, so `seqLength` and `seq_length` both find `seq-length`. A unique candidate that starts
 * with `input` (at least 3 characters) is also suggested.
 */
export function closestMatch(input: string, candidates: readonly string[]): string | undefined {
  const normalize = (s: string): string => s.toLowerCase().replace(/[-_]/g, '')
  const wanted = normalize(input)
  if (wanted === '') return undefined
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of candidates) {
    const distance = editDistance(wanted, normalize(candidate))
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  const allowed = Math.max(1, Math.floor(wanted.length / 3))
  if (best !== undefined && bestDistance <= allowed) return best
  if (wanted.length >= 3) {
    const prefixed = candidates.filter((c) => normalize(c).startsWith(wanted))
    if (prefixed.length === 1) return prefixed[0]
  }
  return undefined
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  const d: number[] = new Array<number>(rows * cols).fill(0)
  for (let i = 0; i < rows; i++) d[i * cols] = i
  for (let j = 0; j < cols; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let value = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, d[(i - 2) * cols + j - 2]! + 1)
      }
      d[i * cols + j] = value
    }
  }
  return d[rows * cols - 1]!
}

// ---------------------------------------------------------------------------------------------
// Help

export interface HelpOptions {
  /** The command as the user types it: default `recur <name>`. */
  readonly path?: string
  /** Terminal width to wrap to; default 80, at most 100 is used. */
  readonly width?: number
}

const MAX_LABEL_COLUMN = 30
const NO_BREAK = '\u00a0'

/**
 * The `--help` text of a command, ending in a newline:
 *
 *     Usage: recur train <corpus> [flags]
 *
 *     Train a character-level language model on a text file.
 *
 *     Arguments:
 *       <corpus>              UTF-8 text file to learn from
 *
 *     Flags:
 *       --cell <rnn|gru|lstm> Recurrent cell [default: lstm]
 *       --hidden <n>          Hidden units per layer [default: 128, at least 1]
 *       ...
 */
export function formatHelp(spec: CommandSpec, options: HelpOptions = {}): string {
  checkCommandSpec(spec)
  const path = options.path ?? `recur ${spec.name}`
  const width = helpWidth(options.width)
  const sections: string[] = [`Usage: ${usageLine(spec, path)}`, wrapText(spec.summary, width).join('\n')]

  const positionals = spec.positionals ?? []
  if (positionals.length > 0) {
    const rows = positionals.map((p): [string, string] => [
      `<${p.name}>${p.variadic === true ? '...' : ''}`,
      p.description + (p.optional === true ? ' (optional)' : ''),
    ])
    sections.push(`Arguments:\n${twoColumns(rows, width)}`)
  }

  const flagRows = spec.flags.map((flag): [string, string] => [flagLabel(flag), flagDescription(flag)])
  flagRows.push(['-h, --help', 'Show this help'])
  sections.push(`Flags:\n${twoColumns(flagRows, width)}`)

  if (spec.examples !== undefined && spec.examples.length > 0) sections.push(`Examples:\n${formatExamples(spec.examples, width)}`)
  return `${sections.join('\n\n')}\n`
}

function helpWidth(width: number | undefined): number {
  return Math.max(40, Math.min(100, width ?? 80))
}

function usageLine(spec: CommandSpec, path: string): string {
  const usage = spec.usage.trim()
  if (usage === path || usage.startsWith(`${path} `)) return usage
  return usage === '' ? path : `${path} ${usage}`
}

function placeholderOf(flag: FlagSpec): string {
  if (flag.placeholder !== undefined) return `<${flag.placeholder}>`
  switch (flag.type) {
    case 'int':
      return '<n>'
    case 'number':
      return '<x>'
    case 'enum': {
      const listed = `<${(flag.values ?? []).join('|')}>`
      return listed.length <= 24 ? listed : `<${flag.name}>`
    }
    default:
      return '<value>'
  }
}

function flagLabel(flag: FlagSpec): string {
  if (flag.type === 'boolean') return flag.default === true ? `--[no-]${flag.name}` : `--${flag.name}`
  return `--${flag.name} ${placeholderOf(flag)}`
}

function flagDescription(flag: FlagSpec): string {
  const notes: string[] = []
  if (flag.type === 'boolean') {
    if (flag.default === true) notes.push('default: on')
  } else if (flag.default !== undefined) {
    notes.push(`default: ${flag.default === '' ? '""' : String(flag.default)}`)
  }
  if (flag.type === 'int' || flag.type === 'number') {
    if (flag.min !== undefined && flag.max !== undefined) notes.push(`${flag.min} to ${flag.max}`)
    else if (flag.min !== undefined) notes.push(`at least ${flag.min}`)
    else if (flag.max !== undefined) notes.push(`at most ${flag.max}`)
  }
  if (flag.type === 'enum' && !placeholderOf(flag).includes('|')) notes.push(`one of: ${(flag.values ?? []).join(', ')}`)
  // No-break spaces keep each short note ("default: 64") on one line when the description wraps.
  const glued = notes.map((note) => (note.length <= 24 ? note.replace(/ /g, NO_BREAK) : note))
  return notes.length === 0 ? flag.description : `${flag.description} [${glued.join(', ')}]`
}

/** Label/description rows; descriptions aligned and wrapped, long labels get their own line. */
function twoColumns(rows: readonly (readonly [string, string])[], width: number): string {
  const indent = '  '
  const labelWidth = Math.min(MAX_LABEL_COLUMN, Math.max(...rows.map(([label]) => displayWidth(label))))
  const descriptionColumn = indent.length + labelWidth + 2
  const descriptionWidth = Math.max(20, width - descriptionColumn)
  const lines: string[] = []
  for (const [label, description] of rows) {
    const wrapped = wrapText(description, descriptionWidth).map((line) => line.replaceAll(NO_BREAK, ' '))
    const continuation = ' '.repeat(descriptionColumn)
    if (displayWidth(label) > labelWidth) {
      lines.push(indent + label)
      for (const line of wrapped) lines.push(continuation + line)
    } else {
      lines.push((indent + pad(label, labelWidth) + '  ' + wrapped[0]).trimEnd())
      for (const line of wrapped.slice(1)) lines.push(continuation + line)
    }
  }
  return lines.join('\n')
}

function formatExamples(examples: readonly Example[], width: number): string {
  // A described example reads as a shell comment over the command; a blank line separates them.
  const blocks = examples.map((example) => {
    if (typeof example === 'string') return `  ${example}`
    const comment = wrapText(example.description, width - 4).map((line) => `  # ${line}`)
    return [...comment, `  ${example.command}`].join('\n')
  })
  const described = examples.some((example) => typeof example !== 'string')
  return blocks.join(described ? '\n\n' : '\n')
}

// ---------------------------------------------------------------------------------------------
// Subcommands

export interface CommandMatch<S extends CommandSpec> extends ParsedCommand<S> {
  readonly kind: 'command'
  /** The words that chose the command, program name first: ['recur', 'classify', 'train']. */
  readonly path: readonly string[]
  readonly command: S
}

export interface HelpRequest {
  readonly kind: 'help'
  readonly path: readonly string[]
  /** The help text to print, ending in a newline. */
  readonly text: string
  /**
   * True for `--help`, `-h` and `recur help ...` (exit 0); false when a group was called without
   * a subcommand, as in bare `recur` (print the text to stderr and exit 2, as most CLIs do).
   */
  readonly requested: boolean
}

export interface VersionRequest {
  readonly kind: 'version'
  readonly text: string
}

export type CommandLine = HelpRequest | VersionRequest | CommandMatch<CommandSpec>

/** Narrows a parsed command line to one command, typing its values: `if (isCommand(line, trainCommand)) ...`. */
export function isCommand<S extends CommandSpec>(line: CommandLine, spec: S): line is CommandMatch<S> & CommandLine {
  return line.kind === 'command' && line.command === spec
}

function isGroup(entry: CommandSpec | CommandGroup): entry is CommandGroup {
  return 'commands' in entry
}

/**
 * Chooses the command named by the first words of `argv` in `program` (nested groups allowed)
 * and parses the rest with `parseArgs`. Help (`--help`, `-h`, `recur help [command...]`, a group
 * without a subcommand) and `--version` come back as requests to print. Unknown commands throw
 * RecurError 'OPTION' with a suggestion.
 */
export function parseCommandLine(program: CommandGroup, argv: readonly string[], options: { readonly width?: number } = {}): CommandLine {
  checkGroupSpec(program)
  let group = program
  const path = [program.name]
  for (let i = 0; ; i++) {
    const token = argv[i]
    if (token === undefined) return groupHelp(group, path, options.width, false)
    if (token === '--help' || token === '-h') return groupHelp(group, path, options.width, true)
    if (token === 'help') return helpFor(group, path, argv.slice(i + 1), options.width)
    if (token === '--version' && group === program && program.version !== undefined) {
      return { kind: 'version', text: `${program.name} ${program.version}\n` }
    }
    if (token.startsWith('-')) {
      throw new RecurError('OPTION', `expected a command before ${token}`, `Run \`${path.join(' ')} --help\` to list the commands`)
    }
    const entry = findEntry(group, token, path)
    path.push(entry.name)
    if (isGroup(entry)) {
      group = entry
      continue
    }
    const pathText = path.join(' ')
    const parsed = parseArgs(entry, argv.slice(i + 1), { path: pathText })
    if (parsed.help) {
      return { kind: 'help', path, text: formatHelp(entry, { path: pathText, ...widthOption(options.width) }), requested: true }
    }
    return { kind: 'command', help: false, path, command: entry, values: parsed.values, positionals: parsed.positionals, given: parsed.given }
  }
}

function widthOption(width: number | undefined): { width?: number } {
  return width === undefined ? {} : { width }
}

function findEntry(group: CommandGroup, name: string, path: readonly string[]): CommandSpec | CommandGroup {
  const entry = group.commands.find((c) => c.name === name)
  if (entry !== undefined) return entry
  const where = path.join(' ')
  let suggestion = closestMatch(
    name,
    group.commands.map((c) => c.name),
  )
  if (suggestion === undefined) {
    // `recur eval` when only `recur classify eval` exists: point at the nested one.
    const nested = leafCommands(group, []).filter((leaf) => leaf.words.length > 1 && leaf.words[leaf.words.length - 1] === name)
    if (nested.length === 1) suggestion = nested[0]!.words.join(' ')
  }
  const list = `Run \`${where} --help\` to list the commands`
  throw new RecurError(
    'OPTION',
    `unknown command '${name}' for ${where}`,
    suggestion === undefined ? list : `Did you mean '${where} ${suggestion}'? ${list}`,
  )
}

function helpFor(group: CommandGroup, path: string[], words: readonly string[], width: number | undefined): HelpRequest {
  let current: CommandSpec | CommandGroup = group
  for (const word of words) {
    if (!isGroup(current)) break
    current = findEntry(current, word, path)
    path.push(current.name)
  }
  if (isGroup(current)) return groupHelp(current, path, width, true)
  return { kind: 'help', path, text: formatHelp(current, { path: path.join(' '), ...widthOption(width) }), requested: true }
}

interface Leaf {
  readonly words: readonly string[]
  readonly summary: string
}

function leafCommands(group: CommandGroup, prefix: readonly string[]): Leaf[] {
  const leaves: Leaf[] = []
  for (const entry of group.commands) {
    const words = [...prefix, entry.name]
    if (isGroup(entry)) leaves.push(...leafCommands(entry, words))
    else leaves.push({ words, summary: entry.summary })
  }
  return leaves
}

/** Help for a group: its commands (nested ones flattened to `classify train`) and how to get more. */
export function formatGroupHelp(group: CommandGroup, options: HelpOptions = {}): string {
  checkGroupSpec(group)
  const path = options.path ?? group.name
  const width = helpWidth(options.width)
  const sections: string[] = [`Usage: ${path} <command> [flags]`, wrapText(group.summary, width).join('\n')]
  const rows = leafCommands(group, []).map((leaf): [string, string] => [leaf.words.join(' '), leaf.summary])
  sections.push(`Commands:\n${twoColumns(rows, width)}`)
  const flags: [string, string][] = [['-h, --help', 'Show this help']]
  if (group.version !== undefined) flags.push(['--version', 'Print the version'])
  sections.push(`Flags:\n${twoColumns(flags, width)}`)
  if (group.examples !== undefined && group.examples.length > 0) sections.push(`Examples:\n${formatExamples(group.examples, width)}`)
  sections.push(`Run \`${path} <command> --help\` for the flags of a command.`)
  return `${sections.join('\n\n')}\n`
}

function groupHelp(group: CommandGroup, path: readonly string[], width: number | undefined, requested: boolean): HelpRequest {
  return { kind: 'help', path, text: formatGroupHelp(group, { path: path.join(' '), ...widthOption(width) }), requested }
}

// ---------------------------------------------------------------------------------------------
// Spec checks (programming errors, reported once per spec object)

const FLAG_NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/
const checkedSpecs = new WeakSet<object>()

function specError(owner: string, problem: string): RecurError {
  return new RecurError('OPTION', `command spec '${owner}': ${problem}`, 'This is a bug in the command definition, not in the command line')
}

function checkCommandSpec(spec: CommandSpec): void {
  if (checkedSpecs.has(spec)) return
  const owner = spec.name
  if (!FLAG_NAME.test(spec.name)) throw specError(owner, `command name '${spec.name}' must be kebab-case`)
  const seen = new Set<string>(['help'])
  for (const flag of spec.flags) {
    if (!FLAG_NAME.test(flag.name)) throw specError(owner, `flag name '${flag.name}' must be kebab-case without dashes in front`)
    if (seen.has(flag.name)) throw specError(owner, `--${flag.name} is defined twice (or is the reserved --help)`)
    seen.add(flag.name)
    checkFlagDefault(owner, flag)
  }
  for (const flag of spec.flags) {
    if (flag.type === 'boolean' && seen.has(`no-${flag.name}`)) throw specError(owner, `--no-${flag.name} clashes with the negation of --${flag.name}`)
  }
  const positionals = spec.positionals ?? []
  const positionalNames = new Set<string>()
  positionals.forEach((positional, index) => {
    if (positionalNames.has(positional.name)) throw specError(owner, `positional <${positional.name}> is defined twice`)
    positionalNames.add(positional.name)
    if (positional.variadic === true && index !== positionals.length - 1) throw specError(owner, `variadic <${positional.name}> must be last`)
    const previous = positionals[index - 1]
    if (previous?.optional === true && positional.optional !== true) {
      throw specError(owner, `required <${positional.name}> comes after optional <${previous.name}>`)
    }
  })
  checkedSpecs.add(spec)
}

function checkFlagDefault(owner: string, flag: FlagSpec): void {
  if (flag.type === 'enum' && (flag.values === undefined || flag.values.length === 0)) {
    throw specError(owner, `enum --${flag.name} needs a non-empty 'values'`)
  }
  if (flag.type !== 'enum' && flag.values !== undefined) throw specError(owner, `--${flag.name} has 'values' but is not an enum`)
  if ((flag.min !== undefined || flag.max !== undefined) && flag.type !== 'int' && flag.type !== 'number') {
    throw specError(owner, `--${flag.name} has min/max but is not a number`)
  }
  if (flag.default === undefined) return
  const expected = flag.type === 'int' || flag.type === 'number' ? 'number' : flag.type === 'boolean' ? 'boolean' : 'string'
  if (typeof flag.default !== expected) throw specError(owner, `default of --${flag.name} must be a ${expected}`)
  if (flag.type === 'int' || flag.type === 'number' || flag.type === 'enum') {
    try {
      parseFlagValue(flag, String(flag.default))
    } catch {
      throw specError(owner, `default ${String(flag.default)} of --${flag.name} is not ${describeAllowed(flag)}`)
    }
  }
}

function checkGroupSpec(group: CommandGroup): void {
  if (checkedSpecs.has(group)) return
  const names = new Set<string>()
  for (const entry of group.commands) {
    if (entry.name === 'help') throw specError(group.name, `'help' is reserved and cannot be a command name`)
    if (names.has(entry.name)) throw specError(group.name, `command '${entry.name}' is defined twice`)
    names.add(entry.name)
    if (isGroup(entry)) checkGroupSpec(entry)
    else checkCommandSpec(entry)
  }
  checkedSpecs.add(group)
}

// ---------------------------------------------------------------------------------------------

function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}
