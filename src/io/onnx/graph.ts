/**
 * A small builder of ONNX graphs on top of the `onnx-proto` package (ONNX's own protobuf
 * definitions, compiled for protobufjs): named values, float32 and int64 initializers, nodes with
 * attributes, typed graph inputs and outputs, and the ModelProto bytes. No ONNX semantics here;
 * ../onnx.ts decides what the graphs compute.
 *
 * The model declares IR version 8 and the default-domain opset 17: every operator used by recur's
 * graphs (RNN, GRU, LSTM 14; Gather, Transpose, Concat, Slice, Squeeze, Unsqueeze, MatMul,
 * Softmax, ReduceSum 13; Reshape, Add, Relu 14; OneHot 11; ReduceMean, ReduceMax 13 with `axes`
 * as an attribute, as opset 17 has them) is at the version that opset gives it.
 */
import onnxProto from 'onnx-proto'
import type { onnx as OnnxTypes } from 'onnx-proto'

const { onnx } = onnxProto

export const ONNX_IR_VERSION = 8
export const ONNX_OPSET = 17

/** Element types used here. */
export const FLOAT = onnx.TensorProto.DataType.FLOAT
export const INT64 = onnx.TensorProto.DataType.INT64

/** An attribute value: an integer, a string, or a list of integers. */
export type AttributeValue = number | string | readonly number[]

/** A dimension: a fixed size, or a symbolic name such as 'T' or 'B'. */
export type Dim = number | string

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

export class GraphBuilder {
  private readonly nodes: OnnxTypes.INodeProto[] = []
  private readonly initializers: OnnxTypes.ITensorProto[] = []
  private readonly inputs: OnnxTypes.IValueInfoProto[] = []
  private readonly outputs: OnnxTypes.IValueInfoProto[] = []
  private readonly used = new Set<string>()
  private counter = 0

  constructor(readonly name: string) {}

  /** A new value name, unique in the graph, starting with `prefix`. */
  fresh(prefix: string): string {
    let name = prefix
    while (this.used.has(name)) name = `${prefix}_${++this.counter}`
    this.used.add(name)
    return name
  }

  /** A float32 initializer (row-major `data` of `dims`); returns its name. */
  floats(prefix: string, dims: readonly number[], data: Float32Array): string {
    const name = this.fresh(prefix)
    const bytes = new Uint8Array(data.byteLength)
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
    if (!HOST_IS_LITTLE_ENDIAN) for (let i = 0; i < bytes.length; i += 4) bytes.subarray(i, i + 4).reverse()
    this.initializers.push({ name, dims: [...dims], dataType: FLOAT, rawData: bytes })
    return name
  }

  /** An int64 initializer (a shape, axes, a slice bound); `dims` [] makes a scalar. */
  int64s(prefix: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    const name = this.fresh(prefix)
    this.initializers.push({ name, dims: [...dims], dataType: INT64, int64Data: [...values] })
    return name
  }

  /**
   * Adds a node `op(inputs) -> outputs` and returns its output names. `outputs` is a count (fresh
   * names from the op's name) or the names to use. An empty input name is an omitted optional input.
   */
  node(op: string, inputs: readonly string[], outputs: number | readonly string[] = 1, attributes: Readonly<Record<string, AttributeValue>> = {}): string[] {
    const names = typeof outputs === 'number'
      ? Array.from({ length: outputs }, (_, i) => this.fresh(`${op.toLowerCase()}${outputs > 1 ? `_out${i}` : ''}`))
      : outputs.map((o) => (this.used.add(o), o))
    this.nodes.push({
      opType: op,
      name: this.fresh(`${op}_node`),
      input: [...inputs],
      output: names,
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    })
    return names
  }

  /** One output of a node, for the common single-output case. */
  op(op: string, inputs: readonly string[], attributes: Readonly<Record<string, AttributeValue>> = {}, output?: string): string {
    return this.node(op, inputs, output === undefined ? 1 : [output], attributes)[0]!
  }

  input(name: string, elemType: number, dims: readonly Dim[]): string {
    this.used.add(name)
    this.inputs.push(valueInfo(name, elemType, dims))
    return name
  }

  output(name: string, elemType: number, dims: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims))
  }

  /** The bytes of a ModelProto holding this graph. `metadata` goes to metadata_props. */
  encode(options: { docString: string; metadata: Readonly<Record<string, string>> }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: ONNX_IR_VERSION,
      producerName: 'recur',
      docString: options.docString,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      metadataProps: Object.entries(options.metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    })
    return onnx.ModelProto.encode(model).finish()
  }
}

function attribute(name: string, value: AttributeValue): OnnxTypes.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType
  if (typeof value === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(value) }
  if (typeof value === 'number') return { name, type: A.INT, i: value }
  return { name, type: A.INTS, ints: [...value] }
}

function valueInfo(name: string, elemType: number, dims: readonly Dim[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  }
}
