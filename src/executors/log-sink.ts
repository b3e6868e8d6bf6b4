/**
 * Bounded experiment log: the first `headLimit` bytes go to the file as they arrive (so a user
 * tailing it sees progress), after that only the last `tailLimit` bytes are kept in a ring
 * buffer, appended at the end after an omission marker. Memory is O(tailLimit) whatever the
 * experiment prints, and each chunk costs at most one copy.
 */

import * as fs from 'node:fs';

/** Never preallocate more than this for the ring; it grows (by doubling) up to tailLimit. */
const INITIAL_RING_BYTES = 64 * 1024;

export interface BoundedLogTotals {
  outputBytes: number;
  droppedBytes: number;
}

export function omissionMarker(droppedBytes: number): string {
  return `\n[autoresearch: ${droppedBytes} bytes omitted]\n`;
}

function sanitizeLimit(value: number, fallback: number): number {
  if (!Number.isFinite(value)) return fallback;
  return Math.max(0, Math.floor(value));
}

export class BoundedLog {
  private readonly headLimit: number;
  private readonly tailLimit: number;
  private headWritten = 0;
  private total = 0;
  private ring: Buffer | null = null;
  /** Bytes held in the ring (<= tailLimit). */
  private ringLen = 0;
  /** Next write position; once the ring is full, also the position of the oldest byte. */
  private ringPos = 0;
  private finished = false;
  /** First error from writing the file; the caller decides what to do with it. */
  error: Error | null = null;

  constructor(
    private readonly fd: number,
    headBytes: number,
    tailBytes: number,
  ) {
    this.headLimit = sanitizeLimit(headBytes, Number.MAX_SAFE_INTEGER);
    // An unbounded tail cannot be held in memory; cap it at the largest Buffer.
    this.tailLimit = Math.min(sanitizeLimit(tailBytes, 0), 2 ** 31 - 1);
  }

  get outputBytes(): number {
    return this.total;
  }

  write(chunk: Buffer): void {
    if (this.finished) return;
    const len = chunk.length;
    if (len === 0) return;
    this.total += len;
    let off = 0;
    if (this.headWritten < this.headLimit) {
      const n = Math.min(len, this.headLimit - this.headWritten);
      this.writeFile(chunk, 0, n);
      this.headWritten += n;
      off = n;
    }
    if (off < len) this.pushTail(chunk, off);
  }

  /** Appends the marker (if bytes were dropped) and the tail; returns the totals. */
  finish(): BoundedLogTotals {
    const droppedBytes = this.total - this.headWritten - this.ringLen;
    if (!this.finished) {
      this.finished = true;
      if (droppedBytes > 0) {
        const marker = Buffer.from(omissionMarker(droppedBytes), 'utf8');
        this.writeFile(marker, 0, marker.length);
      }
      const ring = this.ring;
      if (ring && this.ringLen > 0) {
        if (this.ringLen < this.tailLimit) {
          this.writeFile(ring, 0, this.ringLen);
        } else {
          // Full ring: oldest byte at ringPos.
          this.writeFile(ring, this.ringPos, this.tailLimit);
          this.writeFile(ring, 0, this.ringPos);
        }
      }
      this.ring = null;
    }
    return { outputBytes: this.total, droppedBytes };
  }

  private writeFile(buf: Buffer, start: number, end: number): void {
    if (this.error) return;
    try {
      let off = start;
      while (off < end) off += fs.writeSync(this.fd, buf, off, end - off);
    } catch (err) {
      this.error = err instanceof Error ? err : new Error(String(err));
    }
  }

  private ensureCapacity(need: number): Buffer {
    const cap = this.tailLimit;
    const ring = this.ring;
    if (ring && ring.length >= need) return ring;
    const size = Math.min(cap, Math.max(need, (ring?.length ?? 0) * 2, INITIAL_RING_BYTES));
    const grown = Buffer.allocUnsafe(size);
    if (ring && this.ringLen > 0) ring.copy(grown, 0, 0, this.ringLen);
    this.ring = grown;
    return grown;
  }

  private pushTail(chunk: Buffer, off: number): void {
    const cap = this.tailLimit;
    if (cap === 0) return;
    const n = chunk.length - off;
    if (n >= cap) {
      // This chunk alone fills the ring: keep its last `cap` bytes.
      const ring = this.ensureCapacity(cap);
      chunk.copy(ring, 0, chunk.length - cap, chunk.length);
      this.ringPos = 0;
      this.ringLen = cap;
      return;
    }
    if (this.ringLen < cap) {
      // Not wrapped yet: data occupies [0, ringLen) and ringPos === ringLen.
      if (this.ringLen + n < cap) {
        const ring = this.ensureCapacity(this.ringLen + n);
        chunk.copy(ring, this.ringLen, off, chunk.length);
        this.ringLen += n;
        this.ringPos = this.ringLen;
        return;
      }
      this.ensureCapacity(cap);
    }
    const ring = this.ring as Buffer;
    const first = Math.min(n, cap - this.ringPos);
    chunk.copy(ring, this.ringPos, off, off + first);
    if (first < n) chunk.copy(ring, 0, off + first, off + n);
    this.ringPos = (this.ringPos + n) % cap;
    this.ringLen = Math.min(cap, this.ringLen + n);
  }
}
