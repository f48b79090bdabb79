/**
 * Splits a byte stream into lines with a length cap, so a worker that writes without newlines
 * cannot grow the owner's memory. CRLF and LF both end a line.
 */
export class LineSplitter {
  #parts: Buffer[] = [];
  #length = 0;
  #discarding = false; // the current line passed the cap: drop bytes up to its newline

  constructor(
    private readonly maxLength: number,
    private readonly onLine: (line: string) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      if (!this.#discarding) this.#append(chunk.subarray(start, end));
      if (newline === -1) return;
      if (!this.#discarding) this.#emit();
      this.#discarding = false;
      start = newline + 1;
    }
  }

  /** Emits what is left when the stream ends without a final newline. */
  end(): void {
    if (this.#length > 0 && !this.#discarding) this.#emit();
    this.#parts = [];
    this.#length = 0;
  }

  // Parts are copied: a view would keep its whole chunk (up to 64 KiB) alive, and a line built of
  // many small chunks would hold far more than maxLength.
  #append(bytes: Buffer): void {
    const room = this.maxLength - this.#length;
    if (bytes.length <= room) {
      if (bytes.length > 0) this.#parts.push(Buffer.from(bytes));
      this.#length += bytes.length;
      return;
    }
    this.#parts.push(Buffer.from(bytes.subarray(0, room)));
    this.#length = this.maxLength;
    this.#emit(' [line truncated]');
    this.#discarding = true;
  }

  #emit(suffix = ''): void {
    let line = Buffer.concat(this.#parts, this.#length).toString('utf8');
    if (line.endsWith('\r')) line = line.slice(0, -1);
    this.#parts = [];
    this.#length = 0;
    this.onLine(line + suffix);
  }
}

/** Keeps the last lines of a stream, bounded in count and in characters per line. */
export class Tail {
  #lines: string[] = [];

  constructor(
    private readonly maxLines = 20,
    private readonly maxLineChars = 500,
  ) {}

  add(line: string): void {
    this.#lines.push(line.length > this.maxLineChars ? `${line.slice(0, this.maxLineChars)}...` : line);
    if (this.#lines.length > this.maxLines) this.#lines.shift();
  }

  text(): string {
    return this.#lines.join('\n');
  }
}
