"""Rebuild an ORT-format model as ONNX, and make its dequantise-then-MatMul weights stay int8."""
from __future__ import annotations

from pathlib import Path

import numpy
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper
from onnxruntime.tools.ort_format_model.ort_flatbuffers_py.fbs import AttributeType as FbAttribute
from onnxruntime.tools.ort_format_model.ort_flatbuffers_py.fbs import DimensionValueType as FbDim
from onnxruntime.tools.ort_format_model.ort_flatbuffers_py.fbs import InferenceSession as FbSession
from onnxruntime.tools.ort_format_model.ort_flatbuffers_py.fbs.TensorTypeAndShape import TensorTypeAndShape


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else (value or "")


def _tensor(fb) -> TensorProto:
    proto = TensorProto(name=_text(fb.Name()), data_type=fb.DataType())
    proto.dims.extend(fb.Dims(i) for i in range(fb.DimsLength()))
    if fb.DataType() == TensorProto.STRING:
        proto.string_data.extend(fb.StringData(i) for i in range(fb.StringDataLength()))
    elif fb.RawDataLength():
        proto.raw_data = fb.RawDataAsNumpy().tobytes()
    return proto


def _value_info(fb) -> onnx.ValueInfoProto:
    name, type_info = _text(fb.Name()), fb.Type()
    if type_info is None:
        return helper.make_empty_tensor_value_info(name)
    tensor_type = TensorTypeAndShape()
    table = type_info.Value()
    tensor_type.Init(table.Bytes, table.Pos)
    shape = tensor_type.Shape()
    dims = None
    if shape is not None:
        dims = []
        for i in range(shape.DimLength()):
            value = shape.Dim(i).Value()
            kind = value.DimType() if value is not None else FbDim.DimensionValueType.UNKNOWN
            dims.append(value.DimValue() if kind == FbDim.DimensionValueType.VALUE
                        else _text(value.DimParam()) if kind == FbDim.DimensionValueType.PARAM else None)
    return helper.make_tensor_value_info(name, tensor_type.ElemType(), dims)


def _attribute(fb) -> AttributeProto:
    kind, name, types = fb.Type(), _text(fb.Name()), FbAttribute.AttributeType
    single = {types.FLOAT: fb.F, types.INT: fb.I, types.STRING: fb.S, types.TENSOR: lambda: _tensor(fb.T()),
              types.GRAPH: lambda: _graph(fb.G(), name)}
    if kind in single:
        return helper.make_attribute(name, single[kind]())
    lists = {types.FLOATS: (fb.Floats, fb.FloatsLength, AttributeProto.FLOATS),
             types.INTS: (fb.Ints, fb.IntsLength, AttributeProto.INTS),
             types.STRINGS: (fb.Strings, fb.StringsLength, AttributeProto.STRINGS)}
    if kind not in lists:
        raise ValueError(f"attribute {name!r} has a type this converter does not handle ({kind})")
    item, length, proto_type = lists[kind]
    return helper.make_attribute(name, [item(i) for i in range(length())], attr_type=proto_type)


def _graph(fb, name: str) -> onnx.GraphProto:
    args = {_text(fb.NodeArgs(i).Name()): fb.NodeArgs(i) for i in range(fb.NodeArgsLength())}
    initializers = [_tensor(fb.Initializers(i)) for i in range(fb.InitializersLength())]
    constant = {t.name for t in initializers}
    nodes = []
    for i in range(fb.NodesLength()):
        node = fb.Nodes(i)
        proto = helper.make_node(_text(node.OpType()), [_text(node.Inputs(j)) for j in range(node.InputsLength())],
                                 [_text(node.Outputs(j)) for j in range(node.OutputsLength())],
                                 name=_text(node.Name()), domain=_text(node.Domain()))
        proto.attribute.extend(_attribute(node.Attributes(j)) for j in range(node.AttributesLength()))
        nodes.append(proto)
    inputs = [_value_info(args[n]) for n in map(_text, (fb.Inputs(i) for i in range(fb.InputsLength())))
              if n not in constant]
    outputs = [_value_info(args[_text(fb.Outputs(i))]) for i in range(fb.OutputsLength())]
    return helper.make_graph(nodes, name, inputs, outputs, initializer=initializers)


def onnx_from_ort(path: Path) -> onnx.ModelProto:
    model = FbSession.InferenceSession.GetRootAsInferenceSession(path.read_bytes(), 0).Model()
    opsets = [helper.make_opsetid(_text(model.OpsetImport(i).Domain()), model.OpsetImport(i).Version())
              for i in range(model.OpsetImportLength())]
    return helper.make_model(_graph(model.Graph(), "main"), opset_imports=opsets, ir_version=model.IrVersion())


def keep_int8(model: onnx.ModelProto) -> onnx.ModelProto:
    """The main graph turns each int8 weight into float (Cast, Mul by a scale, Add an offset) for the nodes that use
    it, there or in an If node's branches. Each MatMul on such a weight becomes DynamicQuantizeMatMul on the int8
    matrix (offset = -zero point × scale, a whole number here); MatMul on its transpose gets a transposed int8 copy;
    Gather picks int8 rows and dequantises only those. Other users (Conv), and weights whose zero point is not a
    whole number, keep the float weight."""
    graph = model.graph
    constants = {t.name: t for t in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    weights, chains, extra = {}, {}, []  # float weight name -> (int8, scale, offset, zero point) and its 3 nodes
    for add in graph.node:
        mul = producer.get(add.input[0]) if add.op_type == "Add" else None
        cast = producer.get(mul.input[0]) if mul is not None and mul.op_type == "Mul" else None
        if (cast is None or cast.op_type != "Cast" or cast.input[0] not in constants
                or constants[cast.input[0]].data_type != TensorProto.INT8):
            continue
        scale = float(numpy_helper.to_array(constants[mul.input[1]]).reshape(()))
        offset = float(numpy_helper.to_array(constants[add.input[1]]).reshape(()))
        zero_point = round(-offset / scale)
        if abs(zero_point * scale + offset) > 1e-6 * abs(scale):
            continue  # not expressible as DynamicQuantizeMatMul's int8 zero point: stays float
        name = add.output[0]
        extra.append(numpy_helper.from_array(numpy.array(zero_point, numpy.int8), name + ".zero_point"))
        weights[name] = (cast.input[0], mul.input[1], add.input[1], name + ".zero_point")
        chains[name] = (cast, mul, add)
    # Branches first: rebuilding the main graph copies its If node, and with it the branches.
    graphs = [a.g for n in graph.node if n.op_type == "If" for a in n.attribute] + [graph]
    transposed = {}  # int8 name -> its transposed copy, for weights that are transposed somewhere
    for node in (n for g in graphs for n in g.node):
        if node.op_type == "Transpose" and node.input[0] in weights:
            int8 = weights[node.input[0]][0]
            if int8 not in transposed:
                extra.append(numpy_helper.from_array(numpy_helper.to_array(constants[int8]).T.copy(), int8 + ".T"))
                transposed[int8] = int8 + ".T"
    for g in graphs:
        transposes, rebuilt = {}, []
        for node in g.node:
            inputs = list(node.input)
            if node.op_type == "Transpose" and inputs[0] in weights:
                transposes[node.output[0]] = inputs[0]
            elif node.op_type == "MatMul" and (inputs[1] in weights or inputs[1] in transposes):
                int8, scale, _, zero_point = weights[transposes.get(inputs[1], inputs[1])]
                matrix = transposed[int8] if inputs[1] in transposes else int8
                rebuilt.append(helper.make_node("DynamicQuantizeMatMul", [inputs[0], matrix, scale, zero_point],
                                                list(node.output), name=node.name, domain="com.microsoft"))
            elif node.op_type == "Gather" and inputs[0] in weights:
                rebuilt += _gather_rows(node, *weights[inputs[0]][:3], transposed)
            else:
                rebuilt.append(node)
        del g.node[:]
        g.node.extend(rebuilt)
    chain_outputs = {n.output[0] for nodes in chains.values() for n in nodes}  # protobuf copies nodes: match names
    needed = {i for g in graphs for n in g.node if n.output[0] not in chain_outputs for i in n.input}
    unused = {n.output[0] for name, nodes in chains.items() if name not in needed for n in nodes}
    kept = [n for n in graph.node if n.output[0] not in unused]
    del graph.node[:]
    graph.node.extend(kept)
    graph.initializer.extend(extra)
    used = {i for g in graphs for n in g.node for i in n.input}
    kept_constants = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept_constants)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model


def _gather_rows(node, int8: str, scale: str, offset: str, transposed: dict[str, str]) -> list[onnx.NodeProto]:
    """Gather on an int8 weight, then dequantise only the rows picked. When the weight also has a transposed copy
    (the tied input and output embedding, looked up with [batch, sequence] token ids), pick columns of that copy
    instead of keeping both matrices."""
    out, axis = node.output[0], {a.name: helper.get_attribute_value(a) for a in node.attribute}.get("axis", 0)
    if int8 in transposed and axis == 0:
        picked = [helper.make_node("Gather", [transposed[int8], node.input[1]], [out + ".columns"], axis=1),
                  helper.make_node("Transpose", [out + ".columns"], [out + ".int8"], perm=[1, 2, 0])]
    else:
        picked = [helper.make_node("Gather", [int8, node.input[1]], [out + ".int8"], axis=axis)]
    return picked + [helper.make_node("Cast", [out + ".int8"], [out + ".float"], to=TensorProto.FLOAT),
                     helper.make_node("Mul", [out + ".float", scale], [out + ".scaled"]),
                     helper.make_node("Add", [out + ".scaled", offset], [out])]
