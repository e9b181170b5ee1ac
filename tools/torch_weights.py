#!/usr/bin/python3
"""Convert weights between PyTorch and tinyadapt.

A PyTorch state_dict of a supported network becomes tinyadapt's flat parameter
buffer (layer after layer, weights then bias, in tinyadapt's layouts) behind
the header that io::load_parameters() checks (include/tinyadapt/io/parameters.hpp),
as a binary blob (.bin) or a C++ header holding it as an array (.h / .hpp);
and such a blob converts back into a state_dict.

The network is named by a model description, the same layers in the same order
as the tinyadapt Sequential (semicolon-separated; sizes as in the C++ types):

    input H W C | input L C | input N       Input<...>
    dense N                                  Dense<N>
    conv2d F K [stride S] [same]            Conv2D<F, K, S, Padding::same>
    conv1d F K [stride S] [same]            Conv1D<F, K, S, ...>
    depthwise2d K [stride S] [same]         DepthwiseConv2D<K, S, ...>
    maxpool2d K [stride S] | avgpool2d K [stride S] | globalavgpool
    flatten | relu | leakyrelu NUM DEN | sigmoid | tanh | softmax

for example W3:
    "input 28 28 1; conv2d 8 3; relu; maxpool2d 2; conv2d 16 3; relu; maxpool2d 2; flatten; dense 10"

The state_dict's tensors are taken in order, a weight then (when present) a
bias per layer with parameters: nn.Linear, nn.Conv2d, nn.Conv1d and nn.Conv2d
with groups = channels (depthwise). Layouts:

    Dense     torch [out][in]          -> W[out][in]  (the same; a Dense after a
              Flatten of an image reads tinyadapt's H x W x C order, torch's is
              C x H x W: its columns are permuted)
    Conv2D    torch [F][C][kh][kw]     -> W[kh][kw][C][F]
    Conv1D    torch [F][C][k]          -> W[k][C][F]
    Depthwise torch [C][1][kh][kw]     -> W[kh][kw][C]

Usage:
    tools/torch_weights.py to-tinyadapt --model DESC state_dict.pt out.bin|out.h [--name NAME]
    tools/torch_weights.py to-torch     --model DESC in.bin out.pt
    tools/torch_weights.py signature    --model DESC

Needs Debian's python3-torch (run with /usr/bin/python3). Exit status 0 on
success, 1 on any error (with a message), 2 for bad usage.
"""

import argparse
import os
import struct
import sys

MAGIC = b"TAPR"
FORMAT_VERSION = 1
HEADER_BYTES = 32
DTYPE_FLOAT32 = 1

# Layer kinds: the codes of io::LayerKind (include/tinyadapt/io/signature.hpp).
KIND = {
    "dense": 1, "conv2d": 2, "conv1d": 3, "depthwise2d": 4, "maxpool2d": 5,
    "avgpool2d": 6, "globalavgpool": 7, "flatten": 8, "leakyrelu": 9,
    "sigmoid": 10, "tanh": 11, "softmax": 12,
}


class ConversionError(Exception):
    pass


class Layer:
    """One layer with tinyadapt's bound shapes and parameter counts."""

    def __init__(self, kind, hyper, in_shape, out_shape, weights=0, bias=0):
        self.kind, self.hyper = kind, hyper
        self.in_shape, self.out_shape = in_shape, out_shape
        self.weights, self.bias = weights, bias


def conv_out(n, k, stride, same):
    if same:
        return (n + stride - 1) // stride
    if n < k:
        raise ConversionError(f"kernel {k} is larger than its input {n}")
    return (n - k) // stride + 1


def size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def parse_model(text):
    """The layers of a model description (see the module doc)."""
    items = [part.split() for part in text.split(";") if part.strip()]
    if not items or items[0][0] != "input":
        raise ConversionError("the model description must start with 'input ...'")
    try:
        shape = tuple(int(v) for v in items[0][1:])
    except ValueError:
        raise ConversionError(f"bad input shape: {' '.join(items[0])}") from None
    if not 1 <= len(shape) <= 3 or min(shape) < 1:
        raise ConversionError(f"bad input shape: {' '.join(items[0])}")
    layers = []
    for words in items[1:]:
        name, args = words[0].lower(), words[1:]
        same = "same" in args
        args = [a for a in args if a not in ("same", "valid")]
        stride = 1
        if "stride" in args:
            i = args.index("stride")
            stride = int(args[i + 1])
            del args[i:i + 2]
        try:
            nums = [int(a) for a in args]
        except ValueError:
            raise ConversionError(f"bad layer: {' '.join(words)}") from None
        rank = len(shape)
        if name == "dense" and len(nums) == 1:
            if rank != 1:
                raise ConversionError("dense needs a flat input: put flatten before it")
            (units,) = nums
            layers.append(Layer("dense", [], shape, (units,), units * shape[0], units))
        elif name == "conv2d" and len(nums) == 2:
            if rank != 3:
                raise ConversionError("conv2d needs an H x W x C input")
            f, k = nums
            h, w, c = shape
            out = (conv_out(h, k, stride, same), conv_out(w, k, stride, same), f)
            layers.append(Layer("conv2d", [k, stride, int(same)], shape, out, k * k * c * f, f))
        elif name == "conv1d" and len(nums) == 2:
            if rank != 2:
                raise ConversionError("conv1d needs an L x C input")
            f, k = nums
            length, c = shape
            out = (conv_out(length, k, stride, same), f)
            layers.append(Layer("conv1d", [k, stride, int(same)], shape, out, k * c * f, f))
        elif name == "depthwise2d" and len(nums) == 1:
            if rank != 3:
                raise ConversionError("depthwise2d needs an H x W x C input")
            (k,) = nums
            h, w, c = shape
            out = (conv_out(h, k, stride, same), conv_out(w, k, stride, same), c)
            layers.append(Layer("depthwise2d", [k, stride, int(same)], shape, out, k * k * c, c))
        elif name in ("maxpool2d", "avgpool2d") and len(nums) == 1:
            if rank != 3:
                raise ConversionError(f"{name} needs an H x W x C input")
            (k,) = nums
            if "stride" not in words:
                stride = k
            h, w, c = shape
            out = ((h - k) // stride + 1, (w - k) // stride + 1, c)
            layers.append(Layer(name, [k, stride], shape, out))
        elif name == "globalavgpool" and not nums:
            if rank not in (2, 3):
                raise ConversionError("globalavgpool needs an image or an L x C input")
            layers.append(Layer(name, [], shape, (shape[-1],)))
        elif name == "flatten" and not nums:
            layers.append(Layer(name, [], shape, (size(shape),)))
        elif name == "relu" and not nums:
            layers.append(Layer("leakyrelu", [0, 1], shape, shape))
        elif name == "leakyrelu" and len(nums) == 2:
            layers.append(Layer("leakyrelu", nums, shape, shape))
        elif name in ("sigmoid", "tanh", "softmax") and not nums:
            layers.append(Layer(name, [], shape, shape))
        else:
            raise ConversionError(f"unsupported or malformed layer: {' '.join(words)}")
        shape = layers[-1].out_shape
        if min(shape) < 1:
            raise ConversionError(f"layer '{' '.join(words)}' has an empty output")
    return layers


def signature(layers):
    """io::model_signature<Net>(): FNV-1a 64 over the model's description."""
    h = 0xCBF29CE484222325

    def byte(b):
        nonlocal h
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF

    def u32(v):
        for i in range(4):
            byte((v >> (8 * i)) & 0xFF)

    for ch in b"tinyadapt.model.v1":
        byte(ch)
    u32(DTYPE_FLOAT32)
    u32(4)
    u32(len(layers))
    for layer in layers:
        u32(KIND[layer.kind])
        u32(len(layer.hyper))
        for v in layer.hyper:
            u32(v)
        for shape in (layer.in_shape, layer.out_shape):
            u32(len(shape))
            for d in shape:
                u32(d)
        u32(layer.weights)
        u32(layer.bias)
    return h


def fnv1a32(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def _flatten_source(layers, index):
    """Shape flattened right before layers[index] (a Dense), if any."""
    j = index - 1
    while j >= 0 and layers[j].kind in ("leakyrelu", "sigmoid", "tanh", "softmax"):
        j -= 1
    if j >= 0 and layers[j].kind == "flatten" and len(layers[j].in_shape) > 1:
        return layers[j].in_shape
    return None


def _channel_last_columns(shape):
    """perm with torch_column = perm[tinyadapt_column] for a flattened shape."""
    import torch
    # tinyadapt's flat index runs over (spatial..., C); torch's over (C, spatial...).
    c = shape[-1]
    spatial = shape[:-1]
    torch_index = torch.arange(size(shape)).reshape((c,) + tuple(spatial))
    return torch_index.permute(*range(1, len(shape)), 0).reshape(-1)


def to_flat(layers, state_dict):
    """tinyadapt's flat parameter vector (torch float32 tensor) from a state_dict."""
    import torch
    tensors = list(state_dict.items())
    pos = 0
    parts = []
    for index, layer in enumerate(layers):
        if layer.weights == 0:
            continue
        if pos >= len(tensors):
            raise ConversionError(f"the state_dict ends before layer {index + 1} ({layer.kind})")
        name, w = tensors[pos]
        pos += 1
        w = w.detach().to(torch.float32)
        bias = None
        if pos < len(tensors) and tensors[pos][1].dim() == 1 and tensors[pos][0].endswith("bias"):
            bias = tensors[pos][1].detach().to(torch.float32)
            pos += 1
        if layer.kind == "dense":
            units, inputs = layer.out_shape[0], layer.in_shape[0]
            _expect(name, w, (units, inputs))
            source = _flatten_source(layers, index)
            if source is not None:
                w = w[:, _channel_last_columns(source)]
        elif layer.kind == "conv2d":
            k, c, f = layer.hyper[0], layer.in_shape[2], layer.out_shape[2]
            _expect(name, w, (f, c, k, k))
            w = w.permute(2, 3, 1, 0)
        elif layer.kind == "conv1d":
            k, c, f = layer.hyper[0], layer.in_shape[1], layer.out_shape[1]
            _expect(name, w, (f, c, k))
            w = w.permute(2, 1, 0)
        elif layer.kind == "depthwise2d":
            k, c = layer.hyper[0], layer.in_shape[2]
            _expect(name, w, (c, 1, k, k))
            w = w.permute(2, 3, 1, 0)
        if bias is None:
            bias = torch.zeros(layer.bias)
        elif bias.numel() != layer.bias:
            raise ConversionError(f"{name}: bias of {bias.numel()} values, the model needs {layer.bias}")
        parts += [w.reshape(-1), bias.reshape(-1)]
    if pos != len(tensors):
        raise ConversionError(f"the state_dict has {len(tensors) - pos} tensors more than the model "
                              f"(first: {tensors[pos][0]})")
    return torch.cat(parts).contiguous()


def _expect(name, tensor, shape):
    if tuple(tensor.shape) != tuple(shape):
        raise ConversionError(f"{name}: shape {tuple(tensor.shape)}, the model needs {tuple(shape)}")


def from_flat(layers, flat, names=None):
    """A state_dict (ordered dict of float32 tensors) from the flat vector."""
    import collections
    import torch
    out = collections.OrderedDict()
    pos = 0
    trainable = 0
    for index, layer in enumerate(layers):
        if layer.weights == 0:
            continue
        w = flat[pos:pos + layer.weights]
        pos += layer.weights
        b = flat[pos:pos + layer.bias]
        pos += layer.bias
        if layer.kind == "dense":
            w = w.reshape(layer.out_shape[0], layer.in_shape[0])
            source = _flatten_source(layers, index)
            if source is not None:
                restored = torch.empty_like(w)
                restored[:, _channel_last_columns(source)] = w
                w = restored
        elif layer.kind == "conv2d":
            k, c, f = layer.hyper[0], layer.in_shape[2], layer.out_shape[2]
            w = w.reshape(k, k, c, f).permute(3, 2, 0, 1)
        elif layer.kind == "conv1d":
            k, c, f = layer.hyper[0], layer.in_shape[1], layer.out_shape[1]
            w = w.reshape(k, c, f).permute(2, 1, 0)
        elif layer.kind == "depthwise2d":
            k, c = layer.hyper[0], layer.in_shape[2]
            w = w.reshape(k, k, 1, c).permute(3, 2, 0, 1)
        prefix = names[trainable] if names else f"layer{index + 1}"
        out[f"{prefix}.weight"] = w.contiguous().clone()
        out[f"{prefix}.bias"] = b.contiguous().clone()
        trainable += 1
    return out


def pack(layers, flat):
    """Header + payload bytes of the flat float32 vector."""
    payload = flat.numpy().astype("<f4").tobytes()
    count = flat.numel()
    header = MAGIC + struct.pack("<HHB3xIQII", FORMAT_VERSION, HEADER_BYTES, DTYPE_FLOAT32, count,
                                 signature(layers), fnv1a32(payload), 0)
    assert len(header) == HEADER_BYTES
    return header + payload


def unpack(layers, blob):
    """The flat float32 vector of a blob made for this model (checks like load_parameters)."""
    import numpy
    import torch
    if len(blob) < HEADER_BYTES or blob[:4] != MAGIC:
        raise ConversionError("not tinyadapt parameter data (bad magic)")
    version, header_bytes, dtype, count, sig, checksum, _ = struct.unpack("<HHB3xIQII", blob[4:HEADER_BYTES])
    if version != FORMAT_VERSION or header_bytes != HEADER_BYTES:
        raise ConversionError(f"unsupported parameter format version {version}")
    if dtype != DTYPE_FLOAT32:
        raise ConversionError(f"parameters of element type {dtype}, not float32")
    if sig != signature(layers):
        raise ConversionError(f"parameters of another model: signature {sig:#018x}, "
                              f"this model's is {signature(layers):#018x}")
    want = sum(layer.weights + layer.bias for layer in layers)
    if count != want:
        raise ConversionError(f"{count} parameters, the model has {want}")
    payload = blob[HEADER_BYTES:HEADER_BYTES + 4 * count]
    if len(payload) != 4 * count:
        raise ConversionError("parameter data truncated")
    if fnv1a32(payload) != checksum:
        raise ConversionError("parameter data corrupted (checksum mismatch)")
    return torch.from_numpy(numpy.frombuffer(payload, dtype="<f4").astype("float32"))


def c_header(blob, name, description):
    lines = [
        "// Generated by tools/torch_weights.py: tinyadapt parameters with their header",
        f"// (io::load_parameters). Model: {description}",
        "#pragma once",
        "#include <cstddef>",
        "",
        f"alignas(4) inline constexpr unsigned char {name}[{len(blob)}] = {{",
    ]
    for i in range(0, len(blob), 16):
        lines.append("  " + ", ".join(f"0x{b:02x}" for b in blob[i:i + 16]) + ",")
    lines += ["};", f"inline constexpr std::size_t {name}_size = {len(blob)};", ""]
    return "\n".join(lines)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("to-tinyadapt", help="state_dict (.pt) to a blob (.bin) or C++ header (.h/.hpp)")
    a.add_argument("--model", required=True)
    a.add_argument("--name", default="tinyadapt_parameters", help="C array name (header output)")
    a.add_argument("state_dict")
    a.add_argument("output")
    b = sub.add_parser("to-torch", help="blob (.bin) to a state_dict (.pt)")
    b.add_argument("--model", required=True)
    b.add_argument("--names", help="comma-separated module names for the state_dict keys "
                                   "(default layer<N>, N counting all layers from 1)")
    b.add_argument("blob")
    b.add_argument("output")
    c = sub.add_parser("signature", help="print the model signature")
    c.add_argument("--model", required=True)
    args = parser.parse_args(argv)

    try:
        layers = parse_model(args.model)
        if args.command == "signature":
            print(f"{signature(layers):#018x}")
            return 0
        import torch
        if args.command == "to-tinyadapt":
            state = torch.load(args.state_dict, map_location="cpu")
            if hasattr(state, "state_dict"):
                state = state.state_dict()
            blob = pack(layers, to_flat(layers, state))
            if args.output.endswith((".h", ".hpp")):
                if not args.name.isidentifier():
                    raise ConversionError(f"--name {args.name!r} is not a C identifier")
                with open(args.output, "w") as f:
                    f.write(c_header(blob, args.name, args.model))
            else:
                with open(args.output, "wb") as f:
                    f.write(blob)
            print(f"{args.output}: {(len(blob) - HEADER_BYTES) // 4} parameters, "
                  f"signature {signature(layers):#018x}")
        else:
            with open(args.blob, "rb") as f:
                flat = unpack(layers, f.read())
            names = args.names.split(",") if args.names else None
            torch.save(from_flat(layers, flat, names), args.output)
            print(f"{args.output}: {flat.numel()} parameters")
        return 0
    except (ConversionError, OSError) as e:
        print(f"torch_weights.py: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
