#!/usr/bin/python3
"""Writes the small valid seed files of the libFuzzer corpora (tests/fuzz/corpus/<name>/).
Run by tests/fuzz/make-corpus.sh; the outputs are committed, this only regenerates them."""
import json, os, struct, sys

root = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus"

def put(name, fname, data):
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

# ---- safetensors
def safetensors(tensors, meta=None):
    hdr, blobs, off = {}, b"", 0
    if meta: hdr["__metadata__"] = meta
    for name, dtype, shape, raw in tensors:
        hdr[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs += raw; off += len(raw)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blobs

put("safetensors", "two.safetensors", safetensors(
    [("w", "F32", [2, 3], struct.pack("<6f", *range(6))), ("b", "F16", [2], b"\x00\x3c\x00\xc0")],
    {"format": "avemo-model"}))
put("safetensors", "mixed.safetensors", safetensors(
    [("i", "I64", [1], struct.pack("<q", -5)), ("u", "U8", [3], b"\x01\x02\x03"), ("e", "F32", [0, 4], b""),
     ("s", "BF16", [], b"\x80\x3f")]))

# ---- TF.js: manifest + "\n@@SHARD@@\n" + shard bytes (the harness splits them into two files)
SEP = b"\n@@SHARD@@\n"
man = [{"paths": ["s.bin"], "weights": [
    {"name": "conv/w", "shape": [2, 2], "dtype": "float32"},
    {"name": "conv/b", "shape": [2], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1}},
    {"name": "fc/w", "shape": [1, 2], "dtype": "float32", "quantization": {"dtype": "uint16", "scale": 0.25, "min": 0}}]}]
put("tfjs", "small.bin", json.dumps(man).encode() + SEP + struct.pack("<4f", 1, 2, 3, 4) + b"\x01\x02" + b"\x01\x00\x02\x00")

# ---- model config JSON
put("config", "default.json", '{"modality":"av","fusion":"attention","audio_stream":"paper","n_classes":8,'
    '"audio_channels":10,"audio_frames":156,"video_frames":15,"video_dim":1280,"video_ch1":64,"video_ch2":128,'
    '"audio_ch":64,"audio_blocks":4,"baseline_ch1":64,"baseline_ch2":128,"baseline_ch3":256,"fusion_ch":128,'
    '"fusion_blocks":4,"mlp_hidden":128,"modality_dropout":0,"dropout":0.5,"label_smoothing":0}')
put("config", "small.json", '{"modality":"audio","audio_stream":"baseline","n_classes":6,"audio_frames":40,"dropout":0.1}')

# ---- cache index.json
idx = {"format": "avemo-cache", "version": 1, "dataset": "ravdess", "root": "/data/ravdess",
       "classes": ["neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"], "splits": [""],
       "config": {"modality": "audio"}, "skipped_files": ["x.wav: bad name"],
       "samples": [{"id": "03-01-01-01-01-01-01", "actor": 1, "label": 0, "emotion": 1, "split": 0, "vocal": 1,
                    "intensity": 1, "audio": "/data/a.wav", "hash": {"audio": "0123456789abcdef"},
                    "errors": {"faces": "no face"}},
                   {"id": "03-01-05-02-01-02-12", "actor": 12, "label": 4, "emotion": 5, "audio_from_video": True}],
       "data_hash": "0011223344556677"}
put("cache_index", "index.json", json.dumps(idx))

# ---- dataset names (RAVDESS file names and CREMA-D stems)
for i, n in enumerate(["03-01-05-02-01-02-12.wav", "01-01-08-01-02-01-24.mp4", "02-02-06-02-01-01-01.mp4",
                       "1001_DFA_ANG_XX", "1091_IEO_HAP_HI", "1045_TSI_SAD_LO"]):
    put("dataset_names", "name%d.txt" % i, n)

# ---- TFLite: a hand-built flatbuffer (schema.fbs field numbers as in src/io/tflite.c)
class Ref:  # a child object emitted after the table that references it
    def __init__(self, kind, val): self.kind, self.val = kind, val

def tflite_model():
    out = bytearray()
    def align(n=4):
        while len(out) % n: out.append(0)
    def emit(obj):
        """Emit obj (Ref) at the end and return its position."""
        if obj.kind == "table": return emit_table(obj.val)
        align(4)
        if obj.kind == "string":
            pos = len(out); out.extend(struct.pack("<I", len(obj.val)) + obj.val.encode() + b"\0"); return pos
        fmt, items = obj.val
        if fmt == "table":
            pos = len(out); out.extend(struct.pack("<I", len(items)))
            slots = []
            for _ in items: slots.append(len(out)); out.extend(b"\0\0\0\0")
            for s, t in zip(slots, items):
                p = emit_table(t); struct.pack_into("<I", out, s, p - s)
            return pos
        if fmt == "q": align(8); out.extend(b"\0\0\0\0")  # 8-byte elements after the length stay aligned
        pos = len(out); out.extend(struct.pack("<I", len(items)))
        for v in items: out.extend(struct.pack("<" + fmt, v))
        return pos
    def emit_table(fields):
        """fields: list indexed by field number of None | (fmt, value) | Ref."""
        align(4)
        n = len(fields)
        # inline layout: soffset, then each field 4- or 8-byte slot
        layout, size = [], 4
        for f in fields:
            if f is None: layout.append(None); continue
            sz = 4 if isinstance(f, Ref) else struct.calcsize("<" + f[0])
            size = (size + sz - 1) // sz * sz if sz > 1 else size
            layout.append(size); size += sz
        size = (size + 3) // 4 * 4
        vt = len(out)
        out.extend(struct.pack("<HH", 4 + 2 * n, size))
        for o in layout: out.extend(struct.pack("<H", o or 0))
        align(8)
        pos = len(out)
        out.extend(struct.pack("<i", pos - vt) + b"\0" * (size - 4))
        refs = []
        for f, o in zip(fields, layout):
            if f is None: continue
            if isinstance(f, Ref): refs.append((pos + o, f))
            else: struct.pack_into("<" + f[0], out, pos + o, f[1])
        for at, r in refs:
            p = emit(r); struct.pack_into("<I", out, at, p - at)
        return pos
    def vec(fmt, items): return Ref("vector", (fmt, items))
    def tbl(fields): return Ref("table", fields)
    def tensor(shape, ttype, buf, name, quant=None):
        return [vec("i", shape), ("b", ttype), ("I", buf), Ref("string", name), quant]
    q = tbl([None, None, vec("f", [0.5, 0.25]), vec("q", [0, 3]), None, None, ("i", 0)])
    tensors = [tensor([1, 4, 4, 1], 0, 0, "input"),
               tensor([2, 1, 1, 1], 0, 1, "conv/w"),
               tensor([2], 3, 2, "conv/b_q", q),
               tensor([1, 4, 4, 2], 0, 0, "output")]
    conv_opts = tbl([("b", 1), ("i", 1), ("i", 1), ("b", 3), ("i", 1), ("i", 1)])
    op = [("I", 0), vec("i", [0, 1, 2]), vec("i", [3]), ("B", 1), conv_opts]
    graph = [vec("table", tensors), vec("i", [0]), vec("i", [3]), vec("table", [op])]
    buffers = [[], [vec("B", list(struct.pack("<2f", 1.5, -2.0)))], [vec("B", [1, 7])]]
    model = [("I", 3), vec("table", [[("b", 3), None, None, ("i", 3)]]), vec("table", [graph]), None,
             vec("table", buffers)]
    out.extend(b"\0\0\0\0TFL3")
    p = emit_table(model)
    struct.pack_into("<I", out, 0, p)
    return bytes(out)

put("tflite", "conv.tflite", tflite_model())
print("wrote corpora under", root)

# ---- audio files (WAV / FLAC headers and data through FFmpeg: fuzz_audio_header)
def wav(rate, channels, bits, frames, fmt_tag=1, data=None):
    block = channels * bits // 8
    if data is None:
        data = bytes((i * 37) & 0xFF for i in range(frames * block))
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * block, block, bits)
    return (b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE" + b"fmt " +
            struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data)

def crc8(b):
    c = 0
    for x in b:
        c ^= x
        for _ in range(8):
            c = ((c << 1) ^ 0x07) & 0xFF if c & 0x80 else (c << 1) & 0xFF
    return c

def crc16(b):
    c = 0
    for x in b:
        c ^= x << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x8005) & 0xFFFF if c & 0x8000 else (c << 1) & 0xFFFF
    return c

def flac(rate, total, block, verbatim):
    """A 16-bit mono FLAC: STREAMINFO, then frames of CONSTANT (or VERBATIM) subframes."""
    info = struct.pack(">HH", block, block) + bytes(6)
    info += ((rate << 44) | (15 << 36) | total).to_bytes(8, "big") + bytes(16)
    out, done, frame = b"fLaC" + bytes([0x80]) + len(info).to_bytes(3, "big") + info, 0, 0
    while done < total:
        n = min(block, total - done)
        head = bytes([0xFF, 0xF8, 0x7A, 0x08, frame]) + struct.pack(">H", n - 1)  # 48 kHz, mono, 16 bit
        head += bytes([crc8(head)])
        sub = bytes([0x02]) + b"".join(struct.pack(">h", (i * 97) % 2000 - 1000) for i in range(n)) if verbatim \
            else bytes([0x00]) + struct.pack(">h", 300)
        body = head + sub
        out += body + struct.pack(">H", crc16(body))
        done += n
        frame += 1
    return out

put("audio_header", "s16_8k_mono.wav", wav(8000, 1, 16, 300))
put("audio_header", "s24_48k_stereo.wav", wav(48000, 2, 24, 100))
put("audio_header", "f32_44k.wav", wav(44100, 1, 32, 200, fmt_tag=3, data=struct.pack("<200f", *[i / 200 for i in range(200)])))
put("audio_header", "u8_16k.wav", wav(16000, 1, 8, 500))
put("audio_header", "rate_1hz.wav", wav(1, 1, 16, 400))
long_claim = wav(384000, 2, 16, 16)  # its data chunk claims 2 GB, the file holds 64 bytes
put("audio_header", "long_claim.wav", long_claim[:40] + struct.pack("<I", 0x7FFFFFF0) + long_claim[44:])
put("audio_header", "const_48k.flac", flac(48000, 3 * 4096, 4096, False))
put("audio_header", "verbatim_48k.flac", flac(48000, 600, 200, True))
put("audio_header", "claims_4h.flac", flac(48000, 512, 512, False)[:8 + 10] +
    ((48000 << 44) | (15 << 36) | (4 * 3600 * 48000)).to_bytes(8, "big") + flac(48000, 512, 512, False)[26:])
