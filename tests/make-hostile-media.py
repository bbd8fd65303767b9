#!/usr/bin/python3
"""Writes the hostile inputs of tests/cli/test_hostile.c (issue 12) into OUTDIR, each small on disk and each
claiming far more than it holds (Debian's python3, standard library only; the video comes from ffmpeg):

  rate_1hz.wav          176 KB of 16-bit mono whose header says 1 Hz: 88,000 s of audio (a resampler bomb)
  silence_4h_192k.flac  2.7 MB: 4 h of 192 kHz silence (constant subframes, 16384-sample blocks)
  black_8192.png        ~200 KB: an 8192 x 8192 RGB image (201 MB once decoded)

and, with --model, a copy of a model file with one tensor spoiled (the header is rewritten, the data kept):

  nan      the tensor's first value set to NaN
  shape    its shape [n] declared as [n/2, 2] (same byte count)
  dtype    its dtype declared I32 instead of F32
  class    (TENSOR ignored) the first class name prefixed with an escape sequence (ESC [2J: clear the screen)

usage: make-hostile-media.py OUTDIR
       make-hostile-media.py --model IN.safetensors OUT.safetensors nan|shape|dtype|class TENSOR
"""
import json
import struct
import sys
import zlib


def wav_1hz(path, n=88000):
    data = bytes(2 * n)  # silence: the header is the bomb
    fmt = struct.pack('<HHIIHH', 1, 1, 1, 2, 2, 16)  # PCM, mono, 1 Hz, 2 B/s, block 2, 16 bit
    with open(path, 'wb') as f:
        f.write(b'RIFF' + struct.pack('<I', 4 + 8 + len(fmt) + 8 + len(data)) + b'WAVE')
        f.write(b'fmt ' + struct.pack('<I', len(fmt)) + fmt)
        f.write(b'data' + struct.pack('<I', len(data)) + data)


def crc8(data):
    c = 0
    for b in data:
        c ^= b
        for _ in range(8):
            c = ((c << 1) ^ 0x07) & 0xFF if c & 0x80 else (c << 1) & 0xFF
    return c


def crc16_table():
    t = []
    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x8005) & 0xFFFF if c & 0x8000 else (c << 1) & 0xFFFF
        t.append(c)
    return t


CRC16 = crc16_table()


def crc16(data):
    c = 0
    for b in data:
        c = ((c << 8) & 0xFFFF) ^ CRC16[(c >> 8) ^ b]
    return c


def utf8_number(v):
    """FLAC's frame number coding (UTF-8 style): 1 byte below 2^7, n bytes below 2^(5n + 1) (2^11 for n = 2)."""
    if v < 0x80:
        return bytes([v])
    for n in range(2, 7):
        if v < 1 << (11 if n == 2 else 5 * n + 1):
            tail = [0x80 | (v >> (6 * k) & 0x3F) for k in range(n - 2, -1, -1)]
            return bytes([(0xFF << (8 - n) & 0xFF) | v >> (6 * (n - 1))] + tail)
    raise ValueError(v)


def flac_silence(path, rate=192000, seconds=4 * 3600, block=16384):
    total = rate * seconds
    info = struct.pack('>HH', block, block) + bytes(6)  # min/max block size, frame sizes unknown
    info += ((rate << 44) | (0 << 41) | (15 << 36) | total).to_bytes(8, 'big')  # rate, mono, 16 bit, samples
    info += bytes(16)  # no MD5
    rate_code = {192000: 0x3, 48000: 0xA, 44100: 0x9}[rate]
    with open(path, 'wb') as f:
        f.write(b'fLaC' + bytes([0x80]) + len(info).to_bytes(3, 'big') + info)  # last block: STREAMINFO
        done, frame = 0, 0
        while done < total:
            n = min(block, total - done)
            head = bytes([0xFF, 0xF8, (0x7 << 4) | rate_code, (0x0 << 4) | (0x4 << 1)])  # 16-bit blocksize follows
            head += utf8_number(frame) + struct.pack('>H', n - 1)
            head += bytes([crc8(head)])
            body = head + bytes([0x00]) + struct.pack('>h', 0)  # CONSTANT subframe, value 0
            f.write(body + struct.pack('>H', crc16(body)))
            done += n
            frame += 1


def png_black(path, side=8192):
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF)
    z = zlib.compressobj(9)
    row = bytes(1 + 3 * side)  # filter 0, black RGB
    idat = b''.join(z.compress(row) for _ in range(side)) + z.flush()
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n')
        f.write(chunk(b'IHDR', struct.pack('>IIBBBBB', side, side, 8, 2, 0, 0, 0)))
        f.write(chunk(b'IDAT', idat))
        f.write(chunk(b'IEND', b''))


def spoil_model(src, dst, how, name):
    blob = open(src, 'rb').read()
    n = struct.unpack('<Q', blob[:8])[0]
    head, data = json.loads(blob[8:8 + n]), bytearray(blob[8 + n:])
    t = head.get(name, {})
    if how == 'class':
        classes = json.loads(head['__metadata__']['classes'])
        classes[0] = '\x1b[2J' + classes[0]
        head['__metadata__']['classes'] = json.dumps(classes)
    elif how == 'nan':
        data[t['data_offsets'][0]:t['data_offsets'][0] + 4] = struct.pack('<f', float('nan'))
    elif how == 'shape':
        t['shape'] = [t['shape'][0] // 2, 2]
    elif how == 'dtype':
        t['dtype'] = 'I32'
    text = json.dumps(head, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    with open(dst, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + bytes(data))


if __name__ == '__main__' and sys.argv[1] == '--model':
    spoil_model(*sys.argv[2:6])
elif __name__ == '__main__':
    out = sys.argv[1]
    wav_1hz(out + '/rate_1hz.wav')
    flac_silence(out + '/silence_4h_192k.flac')
    png_black(out + '/black_8192.png')
