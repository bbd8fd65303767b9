"""A hand-rolled safetensors writer (the `safetensors` package is not installed): 8-byte little-endian
header length, JSON header padded with spaces to a multiple of 8, raw little-endian tensor bytes."""
import json
import struct

import numpy as np

DTYPES = {np.dtype('<f4'): 'F32', np.dtype('<f8'): 'F64', np.dtype('<f2'): 'F16', np.dtype('<i8'): 'I64',
          np.dtype('<i4'): 'I32', np.dtype('u1'): 'U8', np.dtype('i1'): 'I8', np.dtype('?'): 'BOOL'}


def save(path, tensors, metadata=None):
    """tensors: list of (name, array) or (name, dtype_string, shape, raw_bytes) in file order."""
    header, blobs, off = {}, [], 0
    if metadata:
        header['__metadata__'] = dict(metadata)
    for t in tensors:
        if len(t) == 2:
            name, a = t
            a = np.asarray(a)  # (ascontiguousarray would turn a 0-d array into 1-d)
            dt, shape, raw = DTYPES[a.dtype.newbyteorder('<') if a.dtype.byteorder == '>' else a.dtype], \
                list(a.shape), a.astype(a.dtype.newbyteorder('<')).tobytes(order='C')
        else:
            name, dt, shape, raw = t
        header[name] = {'dtype': dt, 'shape': list(shape), 'data_offsets': [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
