/**
 * The LevelDB store's journal: an append-only file beside LevelDB's own, written synchronously,
 * that makes a flush cost one `write(2)` instead of a LevelDB batch's round trip through the
 * thread pool (5 µs against 120-170 µs for a request's ten keys on the 2-core bench machine).
 *
 * Every write the store stages is appended here before it goes to LevelDB (at a flush, or
 * before a background batch takes it), so LevelDB always holds a prefix of the journal: at open,
 * replaying the journal over LevelDB gives the state of the last append exactly. Once LevelDB has
 * what a file holds, the file goes: a file past `ROTATE_BYTES` is sealed when a batch starts and
 * deleted when that batch has landed, and every file at a clean close.
 *
 * One append is one line, `<length>\t<entries>\n`, each entry `<key as JSON>\t<value>`: the
 * LevelDB value of a record as it is (its JSON text: an object, with no raw tab or newline), a
 * string value as a JSON string, `-` for a delete. A line whose length does not match (the tail of a write cut
 * short) is not replayed, nor anything after it; a failed append is cut back off the file.
 * LevelDB's LOCK keeps a second process off the directory, so this file has one writer.
 */
import {
  closeSync,
  fdatasyncSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';

/** A journal entry: a key and its LevelDB value, or undefined for a delete. */
type JournalEntry = readonly [key: string, value: string | undefined];

/** A journal's value for one entry: how a record's text, a string value and a delete are told apart. */
export type JournalValue = { text: string } | { string: string } | undefined;

const PREFIX = 'coordinator-journal-';
/** A file past this size is sealed at the next batch and deleted once that batch has landed. */
const ROTATE_BYTES = 8 * 1024 * 1024;

export class Journal {
  /** The current file's descriptor; undefined once closed (a closed number may be another file's by then). */
  private fd: number | undefined;
  private size = 0;
  /** Sealed files, oldest first: what they hold is in `pending` or in a batch not landed yet. */
  private sealed: number[] = [];

  private constructor(
    private readonly dir: string,
    private current: number,
    /** Replayed files, deleted once their contents are in LevelDB (`clear`). */
    private old: number[],
    private readonly sync: boolean,
    private readonly fileBytes: number,
  ) {
    this.fd = openSync(this.file(current), 'a');
  }

  /** Opens the journal of a store directory: a new file, and what the earlier files hold, in order (the last value of each key). */
  static open(
    dir: string,
    options: { sync: boolean; fileBytes?: number },
  ): { journal: Journal; replay: Map<string, string | undefined> } {
    const ids = readdirSync(dir)
      .filter((f) => f.startsWith(PREFIX) && /^\d+$/.test(f.slice(PREFIX.length)))
      .map((f) => Number(f.slice(PREFIX.length)))
      .sort((a, b) => a - b);
    const replay = new Map<string, string | undefined>();
    for (const id of ids) if (!readInto(path.join(dir, `${PREFIX}${id}`), replay)) break;
    const next = ids.length > 0 ? ids[ids.length - 1]! + 1 : 1;
    return { journal: new Journal(dir, next, ids, options.sync, options.fileBytes ?? ROTATE_BYTES), replay };
  }

  /** Appends one line with these entries (all or nothing); synchronous, so on return the OS has it. */
  append(entries: Iterable<readonly [key: string, value: JournalValue]>): void {
    const fd = this.open();
    let body = '';
    for (const [key, value] of entries) {
      const encoded = value === undefined ? '-' : 'text' in value ? value.text : JSON.stringify(value.string);
      body += `${body === '' ? '' : '\t'}${JSON.stringify(key)}\t${encoded}`;
    }
    if (body === '') return;
    const bytes = Buffer.from(`${body.length}\t${body}\n`);
    try {
      for (let written = 0; written < bytes.length;)
        written += writeSync(fd, bytes, written, bytes.length - written);
      if (this.sync) fdatasyncSync(fd);
    } catch (err) {
      // Nothing of a failed append stays to be read back (the next one appends after `size`).
      try {
        ftruncateSync(fd, this.size);
      } catch {
        // Replay stops at the torn line; this append was never acknowledged.
      }
      throw err;
    }
    this.size += bytes.length;
  }

  /** At the start of a batch: seals the current file if it is big enough, answering the files the batch covers. */
  seal(): number {
    if (this.size >= this.fileBytes) {
      closeSync(this.open());
      this.sealed.push(this.current);
      this.current += 1;
      this.fd = openSync(this.file(this.current), 'a');
      this.size = 0;
    }
    return this.sealed.length;
  }

  /** A batch started after `seal` answered `count` has landed: those files are in LevelDB. */
  release(count: number): void {
    for (const id of this.sealed.splice(0, count)) unlinkSync(this.file(id));
  }

  /** Everything journaled is in LevelDB: the replayed and sealed files go, the current one is emptied. */
  clear(): void {
    for (const id of [...this.old, ...this.sealed.splice(0)]) unlinkSync(this.file(id));
    this.old = [];
    ftruncateSync(this.open(), 0);
    this.size = 0;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private open(): number {
    if (this.fd === undefined) throw new Error(`the journal in ${this.dir} is closed`);
    return this.fd;
  }

  private file(id: number): string {
    return path.join(this.dir, `${PREFIX}${id}`);
  }
}

/** Reads one file's lines into `replay`; false when it ends in a torn line (nothing after it counts). */
function readInto(file: string, replay: Map<string, string | undefined>): boolean {
  const text = readFileSync(file, 'utf8');
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf('\n', at);
    const tab = text.indexOf('\t', at);
    if (end < 0 || tab < 0 || tab > end) return false;
    const body = text.slice(tab + 1, end);
    if (Number(text.slice(at, tab)) !== body.length) return false;
    const parts = body.split('\t');
    const entries: JournalEntry[] = [];
    try {
      for (let i = 0; i + 1 < parts.length; i += 2) {
        const value = parts[i + 1]!;
        entries.push([
          JSON.parse(parts[i]!) as string,
          value === '-' ? undefined : value.startsWith('"') ? (JSON.parse(value) as string) : value,
        ]);
      }
    } catch {
      return false;
    }
    if (parts.length % 2 !== 0) return false;
    for (const [key, value] of entries) replay.set(key, value);
    at = end + 1;
  }
  return true;
}
