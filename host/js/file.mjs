// file.mjs: the file backend (abi/ABI.md section 8) over a RAIDA data root
// in the node's own layout, for Node.js:
//
//   Data/{den:02x}/{page>>8:02x}/{page:04x}.bin  page files of 1024 records
//        of 17 bytes (AN 16, MFS 1), den printed as an unsigned byte
//        (-8 is f8); a missing one reads as zeros
//   coins/NAME   encryption coins, read only
//   Keys/NAME    chat keys, mode 0640
//
// Crash safety is the Go host's (host/storage): every file is only ever
// replaced whole, by a temporary file in the same folder that is written,
// fsynced and renamed over it, then the folder is fsynced. A Keys/ file is
// durable when writeFile returns; records wait in memory for commit, which
// rewrites each page they touch that way. So after a crash each file is
// the old one or the new one, and whatever commit acknowledged is there.
//
// It refuses a data root whose Go journal holds changes not yet in the page
// files (raidakx.journal.old, or raidakx.journal longer than its header:
// host/storage/journal.go), which it would otherwise silently ignore. It
// takes no lock on the data root: never run it and `raidakx serve` on the
// same root at once. Folders are followed as they are, but a file that is
// a symbolic link is refused (O_NOFOLLOW where the system has it).

import nodeFs from 'node:fs';
import path from 'node:path';
import { systemRandom, systemNow } from './memory.mjs';

const RECORD = 17, PAGE = 1024, PAGE_FILE = RECORD * PAGE;
const JOURNAL_HEADER = 16; // magic and salt: a journal without batches
const FILE_MODE = 0o640, DIR_MODE = 0o750;
const KEYS_TEMP = '.raidakx-tmp-'; // the Go host's prefix: it removes stale ones too

// pagePath returns the page file of (den, page) relative to Data/, e.g.
// (1, 999) is 01/03/03e7.bin and (-8, 0) f8/00/0000.bin.
export function pagePath(den, page) {
  const h = (n, w) => n.toString(16).padStart(w, '0');
  return `${h(den & 0xff, 2)}/${h(page >> 8, 2)}/${h(page, 4)}.bin`;
}

// FileBackend serves the data root root (the folder of config.toml).
// Options: random, now, log as MemoryBackend's; fs, the synchronous
// node:fs functions it calls (openSync, readSync, writeSync, fsyncSync,
// closeSync, fstatSync, statSync, renameSync, mkdirSync, rmSync,
// readdirSync), for tests.
export class FileBackend {
  #fs; #root;
  #pending = new Map(); // "den/page" -> { den, page, recs: Map sn -> record }, waiting for commit

  constructor(root, { fs = nodeFs, random = systemRandom, now = systemNow, log = () => {} } = {}) {
    this.#fs = fs;
    this.#root = root;
    Object.assign(this, { random, now, log });
    for (const dir of ['coins', 'Keys']) {
      const st = fs.statSync(path.join(root, dir), { throwIfNoEntry: false });
      if (!st?.isDirectory()) throw new Error(`raidakx: data root ${root}: no ${dir}/ folder (make a data root with \`raidakx init DIR\`)`);
    }
    for (const [name, clean] of [['raidakx.journal.old', -1], ['raidakx.journal', JOURNAL_HEADER]]) {
      const st = fs.statSync(path.join(root, name), { throwIfNoEntry: false });
      if (st && st.size > clean) {
        throw new Error(`raidakx: data root ${root}: ${name} (${st.size} bytes) holds changes the Go host journaled ` +
          'and has not yet written to the page files; start and stop `raidakx serve` on it (a clean stop applies ' +
          `and removes the journal; \`raidakx journal check ${root}\` shows it), then retry`);
      }
    }
    const keys = path.join(root, 'Keys');
    for (const n of fs.readdirSync(keys)) if (n.startsWith(KEYS_TEMP)) fs.rmSync(path.join(keys, n), { force: true });
  }

  // Page locks: one process with one instance at a time needs none.
  lockPage() {}
  unlockPage() {}

  readRecord(den, sn) {
    const page = Math.floor(sn / PAGE);
    const pending = this.#pending.get(`${den}/${page}`)?.recs.get(sn);
    if (pending) return pending;
    const rec = new Uint8Array(RECORD);
    const data = this.#readPage(den, page);
    if (data) rec.set(data.subarray((sn % PAGE) * RECORD, (sn % PAGE + 1) * RECORD));
    return rec;
  }

  writeRecord(den, sn, rec) {
    const page = Math.floor(sn / PAGE), key = `${den}/${page}`;
    if (!this.#pending.has(key)) this.#pending.set(key, { den, page, recs: new Map() });
    this.#pending.get(key).recs.set(sn, rec);
  }

  // commit rewrites every page a pending record belongs to. The pending
  // records are dropped whatever happens, so that reads see the disk: a
  // request whose commit failed was answered 252.
  commit() {
    try {
      for (const { den, page, recs } of this.#pending.values()) {
        const data = this.#readPage(den, page) ?? new Uint8Array(PAGE_FILE);
        for (const [sn, rec] of recs) data.set(rec, (sn % PAGE) * RECORD);
        const file = path.join(this.#root, 'Data', pagePath(den, page));
        this.#mkdirs(path.dirname(file));
        this.#replace(file, `.${path.basename(file)}.tmp`, data, 'w'); // the Go host's temporary name
      }
    } finally {
      this.#pending.clear();
    }
  }

  readFile(dir, name) {
    return this.#read(path.join(this.#root, dir, name));
  }

  writeFile(dir, name, data) {
    const salt = new Uint8Array(8);
    systemRandom(salt);
    const tmp = KEYS_TEMP + Buffer.from(salt).toString('hex');
    this.#replace(path.join(this.#root, dir, name), tmp, data, 'wx');
  }

  // #readPage returns page (den, page) whole, or null when it has no file.
  #readPage(den, page) {
    const file = path.join(this.#root, 'Data', pagePath(den, page));
    const data = this.#read(file);
    if (data && data.length !== PAGE_FILE) throw new Error(`${file}: page file has ${data.length} bytes, want ${PAGE_FILE}`);
    return data;
  }

  // #read returns the regular file at p, null when it does not exist.
  #read(p) {
    let fd;
    try {
      fd = this.#fs.openSync(p, nodeFs.constants.O_RDONLY | (nodeFs.constants.O_NOFOLLOW ?? 0));
    } catch (err) {
      if (err.code === 'ENOENT') return null;
      throw err;
    }
    try {
      const st = this.#fs.fstatSync(fd);
      if (!st.isFile()) throw new Error(`${p} is not a regular file`);
      const data = new Uint8Array(st.size);
      let n = 0;
      for (let k; n < data.length && (k = this.#fs.readSync(fd, data, n, data.length - n, n)) > 0;) n += k;
      return data.subarray(0, n);
    } finally {
      this.#fs.closeSync(fd);
    }
  }

  // #replace puts data in place as file, through the temporary file tmp of
  // its folder: write, fsync, rename, fsync the folder.
  #replace(file, tmp, data, flags) {
    const fs = this.#fs, dir = path.dirname(file), tmpPath = path.join(dir, tmp);
    const fd = fs.openSync(tmpPath, flags, FILE_MODE);
    try {
      for (let n = 0; n < data.length;) n += fs.writeSync(fd, data, n, data.length - n, n);
      fs.fsyncSync(fd);
    } catch (err) {
      fs.closeSync(fd);
      fs.rmSync(tmpPath, { force: true });
      throw err;
    }
    fs.closeSync(fd);
    fs.renameSync(tmpPath, file);
    this.#syncDir(dir);
  }

  #syncDir(dir) {
    const fd = this.#fs.openSync(dir, 'r');
    try {
      this.#fs.fsyncSync(fd);
    } finally {
      this.#fs.closeSync(fd);
    }
  }

  // #mkdirs makes dir and its parents up to the data root, syncing the
  // parent of each folder it makes.
  #mkdirs(dir) {
    if (this.#fs.statSync(dir, { throwIfNoEntry: false })) return;
    this.#mkdirs(path.dirname(dir));
    this.#fs.mkdirSync(dir, { mode: DIR_MODE });
    this.#syncDir(path.dirname(dir));
  }
}
