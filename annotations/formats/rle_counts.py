"""COCO's compressed RLE string <-> run lengths, without decoding the mask.

pycocotools turns uncompressed counts into the compressed string run by run, so decoding the
string gives back the very counts a file held: an uncompressed RLE survives the round trip
exactly, zero-length runs included."""
from __future__ import annotations


def counts_from_string(s: str | bytes) -> list[int]:
    """Run lengths of a compressed COCO RLE string (ValueError if it is not one)."""
    data = s.encode("ascii") if isinstance(s, str) else bytes(s)
    counts: list[int] = []
    p, n = 0, len(data)
    while p < n:
        x = k = 0
        more = True
        while more:
            if p >= n:
                raise ValueError("compressed RLE string ends inside a number")
            c = data[p] - 48
            if not 0 <= c < 64:
                raise ValueError(f"compressed RLE string holds the character {chr(data[p])!r}")
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def string_from_counts(counts: list[int]) -> str:
    """The compressed string for run lengths (the inverse of counts_from_string)."""
    out = bytearray()
    for i, x in enumerate(counts):
        x = int(x)
        if i > 2:
            x -= int(counts[i - 2])
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if c & 0x10 else (x != 0)
            if more:
                c |= 0x20
            out.append(c + 48)
    return out.decode("ascii")
