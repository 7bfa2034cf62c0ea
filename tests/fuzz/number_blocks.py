# number_blocks.py - the seeds twosites-seq*.mtt of the fuzz corpus: a trace
# file with its event blocks numbered (MT_EVENTS_SEQ, trace_format.h), and
# mutants of it whose blocks each pass their check: one copied, one dropped,
# two of one stream in the wrong order.  The block check is recomputed as
# trace_format.h does.
# Usage: python3 number_blocks.py corpus/twosites-v3.mtt corpus
import struct, sys
M, M2, MASK = 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, (1 << 64) - 1
def rnd(h, w):
    h = ((h ^ w) * M) & MASK
    return ((h << 29) | (h >> 35)) & MASK
def check(p):
    lanes = [0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89]
    n = len(p); i = 0; l = 0
    while i + 8 <= n:
        lanes[l] = rnd(lanes[l], struct.unpack_from('<Q', p, i)[0]); i += 8; l = (l + 1) & 3
    if i < n:
        lanes[l] = rnd(lanes[l], int.from_bytes(p[i:], 'little'))
    h = n
    for x in lanes:
        h = rnd(h, (x * M2) & MASK)
    h ^= h >> 33; h = (h * M2) & MASK; h ^= h >> 29
    return (h ^ (h >> 32)) & 0xffffffff
src, outdir = sys.argv[1], sys.argv[2]
d = open(src, 'rb').read()
hs = struct.unpack_from('<I', d, 12)[0]
blocks, off = [], hs
while off + 16 <= len(d):
    t, s, tid, c = struct.unpack_from('<IIiI', d, off)
    assert check(d[off + 16:off + 16 + s]) == c
    blocks.append([t, tid, bytearray(d[off + 16:off + 16 + s])])
    off += 16 + s
def number(b, n):
    base, count, flags = struct.unpack_from('<QII', b[2], 0)
    flags = (flags & 0xff) | 2 | (n << 8)
    struct.pack_into('<QII', b[2], 0, base, count, flags)
seq = {}
for b in blocks:
    if b[0] == 2:
        k = (b[1], struct.unpack_from('<I', b[2], 12)[0] & 1)
        number(b, seq.get(k, 0)); seq[k] = seq.get(k, 0) + 1
def write(name, bl):
    out = bytearray(d[:hs])
    for t, tid, p in bl:
        out += struct.pack('<IIiI', t, len(p), tid, check(bytes(p))) + p
    open(outdir + '/' + name, 'wb').write(out)
ev = [i for i, b in enumerate(blocks) if b[0] == 2]
write('twosites-seq.mtt', blocks)
a = ev[0]
write('twosites-seq-copy.mtt', blocks[:a + 1] + [blocks[a]] + blocks[a + 1:])
write('twosites-seq-drop.mtt', blocks[:ev[1]] + blocks[ev[1] + 1:])
first, second = [blocks[a][0], blocks[a][1], bytearray(blocks[a][2])], [blocks[a][0], blocks[a][1], bytearray(blocks[a][2])]
number(first, 1); number(second, 0)
write('twosites-seq-swap.mtt', blocks[:a] + [first, second] + blocks[a + 1:])
