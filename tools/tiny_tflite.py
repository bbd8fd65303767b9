"""A minimal TFLite flatbuffer writer (no flatbuffers package): enough of schema.fbs to build a one-conv model
for tests/io/test_tflite.c and the fuzzing seed corpus. Objects are laid out after the tables that refer to
them (flatbuffer offsets are unsigned and point forward); each table's vtable sits just before it."""
import struct

import numpy as np


class Table:
    def __init__(self, fields):
        self.fields = fields  # list of (field index, kind, value); kinds: u8 i8 i32 u32 i64 f32 table vec str


class Vec:
    def __init__(self, kind, items):
        self.kind, self.items = kind, items  # kind: i32 f32 i64 u8 table


def build(root, ident=b'TFL3'):
    buf = bytearray(b'\0' * 8)
    buf[4:8] = ident
    pending = []  # (field position, object) to place and patch

    def align(n):
        while len(buf) % n:
            buf.append(0)

    def put_table(t):
        sizes = {'u8': 1, 'i8': 1, 'i32': 4, 'u32': 4, 'i64': 8, 'f32': 4, 'table': 4, 'vec': 4, 'str': 4}
        n_fields = max(i for i, _, _ in t.fields) + 1 if t.fields else 0
        layout, off = {}, 4
        for i, kind, _ in t.fields:
            layout[i] = off
            off += sizes[kind]
        align(2)
        vt = len(buf)
        buf.extend(struct.pack('<HH', 4 + 2 * n_fields, off))
        for i in range(n_fields):
            buf.extend(struct.pack('<H', layout.get(i, 0)))
        align(4)
        pos = len(buf)
        buf.extend(struct.pack('<i', pos - vt))
        for i, kind, v in t.fields:
            fpos = len(buf)
            if kind in ('table', 'vec', 'str'):
                buf.extend(b'\0\0\0\0')
                pending.append((fpos, v))
            else:
                buf.extend(struct.pack({'u8': '<B', 'i8': '<b', 'i32': '<i', 'u32': '<I', 'i64': '<q', 'f32': '<f'}[kind], v))
        return pos

    def place(obj):
        if isinstance(obj, Table):
            return put_table(obj)
        align(4)
        pos = len(buf)
        if isinstance(obj, (bytes, str)):
            b = obj.encode() if isinstance(obj, str) else obj
            buf.extend(struct.pack('<I', len(b)) + b + b'\0')
        elif obj.kind == 'table':
            buf.extend(struct.pack('<I', len(obj.items)))
            for t in obj.items:
                fpos = len(buf)
                buf.extend(b'\0\0\0\0')
                pending.append((fpos, t))
        else:
            fmt = {'i32': '<i', 'f32': '<f', 'i64': '<q', 'u8': '<B'}[obj.kind]
            buf.extend(struct.pack('<I', len(obj.items)))
            for x in obj.items:
                buf.extend(struct.pack(fmt, x))
        return pos

    rpos = put_table(root)
    buf[0:4] = struct.pack('<I', rpos)
    while pending:
        fpos, obj = pending.pop(0)
        pos = place(obj)
        buf[fpos:fpos + 4] = struct.pack('<I', pos - fpos)
    return bytes(buf)


def tiny_conv_model():
    """input float32 [1,4,4,2] -> CONV_2D (VALID, stride 2x1, RELU6) with int8 per-axis weights [3,1,1,2] and
    int32 bias [3] -> output [1,2,4,3]."""
    wq = np.array([[1, -2], [3, 4], [-128, 127]], dtype=np.int8)
    bq = np.array([10, -20, 30], dtype=np.int32)
    tensors = [
        Table([(0, 'vec', Vec('i32', [1, 4, 4, 2])), (1, 'i8', 0), (2, 'u32', 1), (3, 'str', 'input')]),
        Table([(0, 'vec', Vec('i32', [3, 1, 1, 2])), (1, 'i8', 9), (2, 'u32', 2), (3, 'str', 'conv/weights'),
               (4, 'table', Table([(2, 'vec', Vec('f32', [0.5, 0.25, 0.125])), (3, 'vec', Vec('i64', [0, 0, 0])),
                                   (6, 'i32', 0)]))]),
        Table([(0, 'vec', Vec('i32', [3])), (1, 'i8', 2), (2, 'u32', 3), (3, 'str', 'conv/bias'),
               (4, 'table', Table([(2, 'vec', Vec('f32', [0.01, 0.02, 0.03])), (3, 'vec', Vec('i64', [0, 0, 0]))]))]),
        Table([(0, 'vec', Vec('i32', [1, 2, 4, 3])), (1, 'i8', 0), (2, 'u32', 4), (3, 'str', 'output')]),
    ]
    op = Table([(0, 'u32', 0), (1, 'vec', Vec('i32', [0, 1, 2])), (2, 'vec', Vec('i32', [3])), (3, 'u8', 1),
                (4, 'table', Table([(0, 'i8', 1), (1, 'i32', 1), (2, 'i32', 2), (3, 'i8', 3)]))])
    subgraph = Table([(0, 'vec', Vec('table', tensors)), (1, 'vec', Vec('i32', [0])), (2, 'vec', Vec('i32', [3])),
                      (3, 'vec', Vec('table', [op])), (4, 'str', 'main')])
    buffers = [Table([]), Table([]), Table([(0, 'vec', Vec('u8', list(wq.view(np.uint8).ravel())))]),
               Table([(0, 'vec', Vec('u8', list(bq.view(np.uint8).ravel())))]), Table([])]
    model = Table([(0, 'u32', 3), (1, 'vec', Vec('table', [Table([(0, 'i8', 3), (2, 'i32', 1), (3, 'i32', 3)])])),
                   (2, 'vec', Vec('table', [subgraph])), (3, 'str', 'tiny conv'), (4, 'vec', Vec('table', buffers))])
    return build(model)
