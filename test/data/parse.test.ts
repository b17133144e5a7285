import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { formatFromPath, parseDataset, unescapeTsv } from '../../src/data/parse.js'
import { isRecurError } from '../helpers/recur-error.js'

const csv = (text: string, fields = ['text', 'label']) => parseDataset(text, 'csv', fields, 'd.csv')
const tsv = (text: string, fields = ['text', 'label']) => parseDataset(text, 'tsv', fields, 'd.tsv')
const jsonl = (text: string, fields = ['text', 'label']) => parseDataset(text, 'jsonl', fields, 'd.jsonl')

describe('CSV (RFC 4180)', () => {
  test('header row, then one record per row; records hold the required fields only, in file order', () => {
    const dataset = csv('id,text,label,extra\n1,hello,pos,x\n2,bye,neg,y\n')
    assert.deepEqual(dataset.records, [{ text: 'hello', label: 'pos' }, { text: 'bye', label: 'neg' }])
    assert.deepEqual(dataset.lines, [2, 3])
    assert.equal(dataset.format, 'csv')
    assert.equal(dataset.path, 'd.csv')
  })

  test('quoted fields hold commas, doubled quotes and line breaks; line numbers count those breaks', () => {
    const dataset = csv('text,label\n"a, b",1\n"say ""hi""",2\n"two\nlines",3\nlast,4')
    assert.deepEqual(dataset.records.map((r) => r['text']), ['a, b', 'say "hi"', 'two\nlines', 'last'])
    assert.deepEqual(dataset.lines, [2, 3, 4, 6])
  })

  test('CRLF line ends, also inside quotes, become LF; a lone CR is kept', () => {
    const dataset = csv('text,label\r\n"a\r\nb",1\r\nc\rd,2\r\n')
    assert.deepEqual(dataset.records, [{ text: 'a\nb', label: '1' }, { text: 'c\rd', label: '2' }])
  })

  test('a leading byte-order mark is removed (the first column keeps its name)', () => {
    assert.deepEqual(csv('\ufefftext,label\nx,y\n').records, [{ text: 'x', label: 'y' }])
  })

  test('empty fields, an empty quoted field and a trailing empty field', () => {
    const dataset = parseDataset('a,b,c\n,"",\n', 'csv', ['a', 'b', 'c'], 'd.csv')
    assert.deepEqual(dataset.records, [{ a: '', b: '', c: '' }])
    assert.deepEqual(parseDataset('a,b\nx,', 'csv', ['a', 'b'], 'd.csv').records, [{ a: 'x', b: '' }])
  })

  test('empty lines between and after rows are skipped; no final newline is needed', () => {
    const dataset = csv('text,label\n\na,1\n\n\nb,2')
    assert.deepEqual(dataset.records.map((r) => r['text']), ['a', 'b'])
    assert.deepEqual(dataset.lines, [3, 6])
  })

  test('a quote inside an unquoted field is an ordinary character; spaces are kept', () => {
    const dataset = csv('text,label\n5" screen, x \n')
    assert.deepEqual(dataset.records, [{ text: '5" screen', label: ' x ' }])
  })

  test('header names are trimmed; values are not', () => {
    assert.deepEqual(csv(' text , label\n a , b \n').records, [{ text: ' a ', label: ' b ' }])
  })

  test('a quoted field may be the last thing in the file, or hold only a quote', () => {
    assert.deepEqual(csv('text,label\nx,"y"').records, [{ text: 'x', label: 'y' }])
    assert.deepEqual(csv('text,label\n"""",z\n').records, [{ text: '"', label: 'z' }])
  })

  test('fields named "__proto__" and "constructor" are ordinary own fields', () => {
    const dataset = parseDataset('__proto__,constructor\na,b\n', 'csv', ['__proto__', 'constructor'], 'd.csv')
    const record = dataset.records[0]!
    assert.ok(Object.hasOwn(record, '__proto__'))
    assert.equal(Object.getOwnPropertyDescriptor(record, '__proto__')?.value, 'a')
    assert.equal(record['constructor'], 'b')
  })

  test('a row with the wrong number of columns is a FORMAT error naming its line', () => {
    assert.throws(() => csv('text,label\na,1\nb,2,3\n'), isRecurError('FORMAT', 'd.csv line 3', '3 columns', 'header (line 1) has 2', 'Quote a value'))
    assert.throws(() => csv('text,label\na,1\nb\n'), isRecurError('FORMAT', 'd.csv line 3', '1 column,'))
    // A row after a multi-line quoted field is on the right line.
    assert.throws(() => csv('text,label\n"a\nb\nc",1\nd\n'), isRecurError('FORMAT', 'line 5'))
  })

  test('an unterminated quote is a FORMAT error at the line where it opens', () => {
    assert.throws(() => csv('text,label\na,1\n"b,2\nc,3\n'), isRecurError('FORMAT', 'd.csv line 3', 'never closed', 'End it with a quote'))
  })

  test('text after a closing quote is a FORMAT error', () => {
    assert.throws(() => csv('text,label\n"a"b,1\n'), isRecurError('FORMAT', 'line 2', '"b" after the closing quote', '("")'))
    assert.throws(() => csv('text,label\n"a" ,1\n'), isRecurError('FORMAT', 'line 2', '" " after the closing quote'))
  })

  test('a missing column is a DATA error listing the columns and suggesting the closest', () => {
    assert.throws(() => csv('text,lable\na,1\n'), isRecurError('DATA', 'd.csv line 1', 'no column "label"', '"text", "lable"', 'Did you mean "lable"?'))
    assert.throws(() => csv('Text,label\na,1\n'), isRecurError('DATA', 'no column "text"', 'Did you mean "Text"?', 'case-sensitive'))
    // Nothing close: say that the first line must be a header.
    assert.throws(() => csv('sentence,category\na,1\n'), isRecurError('DATA', 'no column "text"', 'must be a header row'))
  })

  test('a required field named by two columns is a FORMAT error', () => {
    assert.throws(() => csv('text,label,text\na,1,b\n'), isRecurError('FORMAT', 'columns 1 and 3', '"text"'))
    // A repeated column that is not required is fine.
    assert.deepEqual(csv('x,text,label,x\n1,a,b,2\n').records, [{ text: 'a', label: 'b' }])
  })

  test('empty text and a header without records are DATA errors', () => {
    assert.throws(() => csv(''), isRecurError('DATA', 'd.csv is empty', 'header row'))
    assert.throws(() => csv(' \n\r\n\t\n'), isRecurError('DATA', 'd.csv is empty'))
    assert.throws(() => csv('\ufeff'), isRecurError('DATA', 'd.csv is empty'))
    assert.throws(() => csv('text,label\n'), isRecurError('DATA', 'd.csv has a header row (line 1) but no records'))
    assert.throws(() => csv('text,label\n\n\n'), isRecurError('DATA', 'but no records'))
  })
})

describe('TSV', () => {
  test('tab-separated with a header; quotes are ordinary characters', () => {
    const dataset = tsv('text\tlabel\n"a, b"\tpos\r\nc\tneg\n')
    assert.deepEqual(dataset.records, [{ text: '"a, b"', label: 'pos' }, { text: 'c', label: 'neg' }])
    assert.deepEqual(dataset.lines, [2, 3])
  })

  test('backslash escapes \\t \\n \\r \\\\ are decoded; other backslashes stay', () => {
    const dataset = tsv('text\tlabel\na\\tb\\nc\\\\n\\x\\\tz\\r\n')
    assert.deepEqual(dataset.records, [{ text: 'a\tb\nc\\n\\x\\', label: 'z\r' }])
    assert.equal(unescapeTsv('C:\\path\\to'), 'C:\\path\to') // \p stays, \t is a tab: escape backslashes in TSV
    assert.equal(unescapeTsv('plain'), 'plain')
  })

  test('a line of tabs is a record of empty fields; empty lines are skipped', () => {
    const dataset = tsv('text\tlabel\n\n\t\nx\ty\n')
    assert.deepEqual(dataset.records, [{ text: '', label: '' }, { text: 'x', label: 'y' }])
    assert.deepEqual(dataset.lines, [3, 4])
  })

  test('errors: wrong column count, missing column, header only, empty', () => {
    assert.throws(() => tsv('text\tlabel\na\tb\tc\n'), isRecurError('FORMAT', 'd.tsv line 2', '3 columns', '\\t'))
    assert.throws(() => tsv('text\tlabels\na\tb\n'), isRecurError('DATA', 'd.tsv line 1', 'no column "label"', 'Did you mean "labels"?'))
    // A CSV file read as TSV: one column named "text,label".
    assert.throws(() => tsv('text,label\na,b\n'), isRecurError('DATA', 'no column "text"', '"text,label"'))
    assert.throws(() => tsv('text\tlabel\n'), isRecurError('DATA', 'but no records'))
    assert.throws(() => tsv('\n\n'), isRecurError('DATA', 'd.tsv is empty'))
  })
})

describe('JSON lines', () => {
  test('one object per line; blank lines skipped; numbers and booleans become their JSON text', () => {
    const dataset = jsonl('{"text": "hi", "label": 1}\n\n  \n{"text": "yo", "label": true, "other": {"x": null}}\n{"label": 1.50, "text": "z"}\n')
    assert.deepEqual(dataset.records, [{ text: 'hi', label: '1' }, { text: 'yo', label: 'true' }, { text: 'z', label: '1.5' }])
    assert.deepEqual(dataset.lines, [1, 4, 5])
  })

  test('an array field (per-token labels) becomes an array of strings', () => {
    const dataset = jsonl('{"text": "John lives", "tags": ["B-PER", "O"]}\n{"text": "x", "tags": [1, false]}', ['text', 'tags'])
    assert.deepEqual(dataset.records, [{ text: 'John lives', tags: ['B-PER', 'O'] }, { text: 'x', tags: ['1', 'false'] }])
  })

  test('CRLF line ends and a BOM are handled; unicode line separators inside strings are not line ends', () => {
    const dataset = jsonl('\ufeff{"text": "a\u2028b", "label": "x"}\r\n{"text": "c", "label": "y"}\r\n')
    assert.deepEqual(dataset.records, [{ text: 'a\u2028b', label: 'x' }, { text: 'c', label: 'y' }])
  })

  test('a "__proto__" key is read as an ordinary field', () => {
    const dataset = jsonl('{"__proto__": "p", "label": "l"}', ['__proto__', 'label'])
    assert.equal(Object.getOwnPropertyDescriptor(dataset.records[0]!, '__proto__')?.value, 'p')
    // ...and an object without one does not have it through its prototype.
    assert.throws(() => jsonl('{"label": "l"}', ['__proto__']), isRecurError('DATA', 'no field "__proto__"'))
  })

  test('malformed JSON is a FORMAT error naming the line', () => {
    assert.throws(() => jsonl('{"text": "a", "label": 1}\n\n{"text": "b" "label": 2}\n'), isRecurError('FORMAT', 'd.jsonl line 3', 'not valid JSON', 'one complete JSON object'))
    assert.throws(() => jsonl('{"text": "a", "label": 1'), isRecurError('FORMAT', 'line 1', 'not valid JSON'))
  })

  test('a JSON array file gets a hint about JSON lines', () => {
    assert.throws(() => jsonl('[{"text": "a", "label": 1}]'), isRecurError('FORMAT', 'line 1', 'expected a JSON object, got an array', 'looks like a JSON array'))
    assert.throws(() => jsonl('[\n{"text": "a", "label": 1}\n]'), isRecurError('FORMAT', 'line 1', 'not valid JSON', 'looks like a JSON array'))
  })

  test('a line that is not an object is a FORMAT error', () => {
    assert.throws(() => jsonl('{"text": "a", "label": 1}\n"just a string"'), isRecurError('FORMAT', 'line 2', 'expected a JSON object, got a string'))
    assert.throws(() => jsonl('null'), isRecurError('FORMAT', 'line 1', 'got null'))
    assert.throws(() => jsonl('42'), isRecurError('FORMAT', 'got a number (42)'))
  })

  test('a missing field is a DATA error listing the record\'s fields and suggesting the closest', () => {
    assert.throws(() => jsonl('{"text": "a", "label": 1}\n{"text": "b", "Label": 2}'), isRecurError('DATA', 'd.jsonl line 2', 'no field "label"', '"text", "Label"', 'Did you mean "Label"?'))
    assert.throws(() => jsonl('{}'), isRecurError('DATA', 'line 1', 'no field "text"', 'the record has no fields'))
    assert.throws(() => jsonl('{"sentence": "a", "label": 1}'), isRecurError('DATA', 'no field "text"', '"sentence", "label"', 'case-sensitive'))
  })

  test('a field of the wrong type is a FORMAT error', () => {
    assert.throws(() => jsonl('{"text": "a", "label": null}'), isRecurError('FORMAT', 'line 1', 'field "label" is null', 'a string, a number, a boolean or an array'))
    assert.throws(() => jsonl('{"text": {"a": 1}, "label": "x"}'), isRecurError('FORMAT', 'field "text" is an object'))
    assert.throws(() => jsonl('{"text": "a", "label": ["x", ["y"]]}'), isRecurError('FORMAT', 'field "label" item 1 is an array'))
    assert.throws(() => jsonl('{"text": "a", "label": ["x", null]}'), isRecurError('FORMAT', 'item 1 is null'))
  })

  test('empty input is a DATA error', () => {
    assert.throws(() => jsonl(''), isRecurError('DATA', 'd.jsonl is empty', 'one JSON object per line'))
    assert.throws(() => jsonl('\n  \n'), isRecurError('DATA', 'd.jsonl is empty'))
  })
})

describe('parseDataset arguments', () => {
  test('an unknown format and bad field lists are OPTION errors', () => {
    assert.throws(() => parseDataset('a\n1', 'xml' as 'csv', ['a'], 'd'), isRecurError('OPTION', 'unknown format "xml"', 'jsonl, csv, tsv'))
    assert.throws(() => parseDataset('a\n1', 'csv', [], 'd'), isRecurError('OPTION', 'non-empty array of field names'))
    assert.throws(() => parseDataset('a\n1', 'csv', [''], 'd'), isRecurError('OPTION', 'non-empty strings'))
  })

  test('a field asked for twice is read once', () => {
    assert.deepEqual(parseDataset('a\n1', 'csv', ['a', 'a'], 'd').records, [{ a: '1' }])
  })

  test('the name given is the one in messages (standard input)', () => {
    assert.throws(() => parseDataset('{"x": 1}', 'jsonl', ['text'], '<stdin>'), isRecurError('DATA', '<stdin> line 1'))
  })
})

describe('formatFromPath', () => {
  test('known extensions, case ignored', () => {
    assert.equal(formatFromPath('data/train.jsonl'), 'jsonl')
    assert.equal(formatFromPath('x.NDJSON'), 'jsonl')
    assert.equal(formatFromPath('/tmp/a.b/x.CSV'), 'csv')
    assert.equal(formatFromPath('x.tsv'), 'tsv')
    assert.equal(formatFromPath('C:\\data\\x.tab'), 'tsv')
  })

  test('any other extension is an OPTION error saying to pass --format', () => {
    assert.throws(() => formatFromPath('data.txt'), isRecurError('OPTION', 'data.txt', 'extension .txt', '--format jsonl|csv|tsv'))
    assert.throws(() => formatFromPath('data'), isRecurError('OPTION', 'has no extension', '--format'))
    assert.throws(() => formatFromPath('dir.csv/data'), isRecurError('OPTION', 'has no extension'))
    assert.throws(() => formatFromPath('.csv'), isRecurError('OPTION', 'has no extension'))
    assert.throws(() => formatFromPath('data.json'), isRecurError('OPTION', 'not a JSON array', '--format jsonl'))
  })
})
