#!/usr/bin/env node
// An independent verifier of modpipe audit bundles (records.jsonl + manifest.json), written from
// docs/record-format.md alone: Node.js standard library only, no modpipe code.
//
//   node verify-bundle.mjs DIR [--json]
//
// Exit 0 and a summary when the bundle verifies; 1 naming the failing file, object and line; 2 on a usage error.
// It re-serialises every record in the canonical form of the specification (section 1) instead of slicing the
// stored bytes, so a passing run shows that the text pins the form down.

import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

import { Failure, Int, canonical, compareCodePoints, parseJson } from "./canonical.mjs";

const FORMATS = new Set(["modpipe-audit-bundle/1", "modpipe-audit-bundle/2"]);
const CHAIN_VERSION = "modpipe-chain-v1";
const HEX64 = /^[0-9a-f]{64}$/;

// ---- hashes, chain, identity (sections 2, 3, 5) ---------------------------------------------------------------

const sha256hex = (bytes) => createHash("sha256").update(bytes).digest("hex");

function recordHash(record) {
  const rest = new Map([...record].filter(([k]) => k !== "hash" && k !== "stored_in"));
  return sha256hex(Buffer.from(canonical(rest), "utf8"));
}

function prefix64(hex) {
  if (typeof hex !== "string" || !/^[0-9a-f]{16}/.test(hex)) return -1n;
  return BigInt("0x" + hex.slice(0, 16));
}

function genesis(key) {
  return sha256hex(Buffer.concat([Buffer.from(CHAIN_VERSION, "ascii"), Buffer.from([0]), Buffer.from(key, "utf8")]));
}

// Python's str() of a member, as the identity spells it: a string as itself, an integer in decimal, null as None
function pyStr(v) {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (v instanceof Int) return v.big.toString();
  if (typeof v === "string") return v;
  return canonical(v); // no such member in records modpipe writes
}

function identity(record) {
  const kind = pyStr(record.get("kind"));
  const data = record.get("data") instanceof Map ? record.get("data") : new Map();
  const own = kind === "verdict" ? data.get("verdict_id") : kind === "decision" ? data.get("decision_id") : undefined;
  if (typeof own === "string" && own !== "") return `${kind}/${pyStr(record.get("message_id"))}/${own}`;
  const source = record.get("source");
  if (source instanceof Map && source.get("topic") !== undefined && source.get("topic") !== null) {
    return `${kind}/@${pyStr(source.get("topic"))}/${pyStr(source.get("partition"))}/${pyStr(source.get("offset"))}`;
  }
  return `${kind}/#${pyStr(record.get("hash"))}`;
}

// ---- the bundle (section 6) -------------------------------------------------------------------------------------

// A UTC time of the bundle ("2026-11-23T08:00:00Z", "...:00.000001Z") as microseconds since 1970, or null.
function micros(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z$/.exec(text ?? "");
  if (!m) return null;
  const seconds = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) / 1000;
  return BigInt(seconds) * 1000000n + BigInt((m[7] ?? "").padEnd(6, "0"));
}

const HOUR_PATH = /service=[^/]+\/date=(\d{4})-(\d{2})-(\d{2})\/hour=(\d{2})\//;
const HOUR_MICROS = 3600n * 1000000n;

function wholeObjects(manifest) {
  const q = manifest.query ?? {};
  if (q.command !== "audit export" || q.author || q.group) return [];
  const start = micros(q.from);
  const end = micros(q.to);
  if (start === null || end === null) return [];
  const whole = [];
  for (const o of manifest.objects_read ?? []) {
    const m = HOUR_PATH.exec(o.key);
    if (!m) continue;
    const hour = BigInt(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4]) / 1000) * 1000000n;
    if (start <= hour && hour + HOUR_MICROS <= end) whole.push(o.key);
  }
  return whole;
}

function* lines(path) {
  // bytes split on 0x0A; each line decoded as strict UTF-8
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const fd = openSync(path, "r");
  const block = Buffer.alloc(1 << 20);
  let carry = Buffer.alloc(0);
  let lineNo = 0;
  try {
    for (;;) {
      const n = readSync(fd, block, 0, block.length, null);
      if (n === 0) break;
      let data = Buffer.concat([carry, block.subarray(0, n)]);
      let start = 0;
      for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
        lineNo++;
        yield [lineNo, decoder.decode(data.subarray(start, nl))];
        start = nl + 1;
      }
      carry = Buffer.from(data.subarray(start));
    }
    if (carry.length > 0) throw new Failure(`records.jsonl line ${lineNo + 1}`, "the last line has no newline");
  } finally {
    closeSync(fd);
  }
}

function fileDigest(path) {
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  const block = Buffer.alloc(1 << 20);
  try {
    for (let n = readSync(fd, block); n > 0; n = readSync(fd, block)) hash.update(block.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

function verifyBundle(dir) {
  const manifestPath = join(dir, "manifest.json");
  if (!existsSync(manifestPath)) throw new Failure("manifest.json", "missing");
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  } catch (exc) {
    throw new Failure("manifest.json", `not valid JSON (${exc.message})`);
  }
  if (!FORMATS.has(manifest.format)) throw new Failure("manifest.json", `unknown format ${manifest.format}`);

  // every file the manifest names (step 2)
  const files = manifest.files ?? {};
  if (!("records.jsonl" in files)) throw new Failure("manifest.json", "files does not name records.jsonl");
  for (const [name, expected] of Object.entries(files)) {
    const path = join(dir, name);
    if (!existsSync(path)) throw new Failure(name, "missing");
    if (fileDigest(path) !== expected.sha256) throw new Failure(name, "SHA-256 differs from manifest.json");
    const size = statSync(path).size;
    if (size !== expected.bytes) throw new Failure(name, `${size} bytes, manifest.json says ${expected.bytes}`);
  }

  // the access log of the window (step 8): line i is the stored bytes of access_read[i]
  if (manifest.access_read !== undefined) {
    if (!("access.jsonl" in files)) throw new Failure("manifest.json", "access_read without access.jsonl in files");
    const body = readFileSync(join(dir, "access.jsonl"));
    const parts = [];
    let from = 0;
    for (let i = 0; i < body.length; i++) {
      if (body[i] === 0x0a) {
        parts.push(body.subarray(from, i));
        from = i + 1;
      }
    }
    if (from !== body.length) throw new Failure("access.jsonl", "last line does not end in a newline");
    const read = manifest.access_read;
    if (parts.length !== read.length) {
      throw new Failure("access.jsonl", `${parts.length} lines, manifest.json access_read has ${read.length}`);
    }
    parts.forEach((part, i) => {
      if (createHash("sha256").update(part).digest("hex") !== read[i].sha256) {
        throw new Failure(`access.jsonl line ${i + 1} (${read[i].key})`, "SHA-256 differs from access_read");
      }
    });
  }

  const objects = new Map((manifest.objects_read ?? []).map((o) => [o.key, o]));
  const chains = new Map(); // key -> Map(seq -> [prev, hash])
  const identities = new Set();
  const byService = {};
  let total = 0;
  for (const [lineNo, text] of lines(join(dir, "records.jsonl"))) {
    const at = `records.jsonl line ${lineNo}`;
    const record = parseJson(text, at);
    if (!(record instanceof Map)) throw new Failure(at, "not a JSON object");
    const storedIn = record.get("stored_in");
    const key = storedIn instanceof Map ? storedIn.get("key") : undefined;
    const read = objects.get(key);
    if (typeof key !== "string" || read === undefined) {
      throw new Failure(`${at} (object ${key})`, "from an object manifest.json does not list");
    }
    const where = `${at} (object ${key})`;
    const hash = record.get("hash");
    let computed;
    try {
      computed = recordHash(record);
    } catch (exc) {
      throw new Failure(where, `cannot be written in canonical form (${exc.message})`);
    }
    if (typeof hash !== "string" || !HEX64.test(hash) || computed !== hash) {
      throw new Failure(where, "record does not match its hash (altered)");
    }
    // its place in its object's chain (steps 3-4)
    const seqValue = record.get("seq");
    const seq = seqValue instanceof Int ? Number(seqValue.big) : NaN;
    if (!(seqValue instanceof Int) || seq < 0 || seq >= read.records) {
      throw new Failure(where, `sequence number outside the object's ${read.records} records`);
    }
    const prev = record.get("prev");
    if (seq === 0 && (prev !== genesis(key) || hash !== read.first_hash)) {
      throw new Failure(where, "first record does not start the key's chain or the object's first hash");
    }
    if (seq === read.records - 1 && hash !== read.last_hash) {
      throw new Failure(where, "last record's hash differs from the object's last hash in manifest.json");
    }
    // each identity once (step 6)
    const id = identity(record);
    const idDigest = createHash("sha256").update(id, "utf8").digest("hex").slice(0, 24);
    if (identities.has(idDigest)) throw new Failure(where, `record ${id} appears twice`);
    identities.add(idDigest);
    if (!chains.has(key)) chains.set(key, new Map());
    const chain = chains.get(key);
    if (chain.has(seq)) throw new Failure(where, `sequence number ${seq} appears twice`);
    // 64-bit prefixes: each record's full hash is recomputed above, the links only tie neighbours together, and
    // a prefix holds no reference to the line it was parsed from (a whole window stays in memory otherwise)
    chain.set(seq, [prefix64(prev), prefix64(hash)]);
    const service = pyStr(record.get("service_type"));
    const kind = pyStr(record.get("kind"));
    byService[service] ??= {};
    byService[service][kind] = (byService[service][kind] ?? 0) + 1;
    total++;
  }
  for (const [key, chain] of chains) {
    for (const [seq, [prev]] of chain) {
      const before = chain.get(seq - 1);
      if (before !== undefined && before[1] !== prev) {
        throw new Failure(`object ${key}`, `record ${seq}: chain broken (prev is not the hash of record ${seq - 1})`);
      }
    }
  }
  // counts (step 7 of docs/record-format.md section 6)
  const counts = manifest.counts ?? {};
  if (total !== counts.records) {
    throw new Failure("records.jsonl", `${total} records, manifest.json counts.records says ${counts.records}`);
  }
  const sortKeys = (o) => Object.fromEntries(Object.keys(o).sort(compareCodePoints).map((k) => [k, o[k]]));
  const counted = sortKeys(Object.fromEntries(Object.entries(byService).map(([s, k]) => [s, sortKeys(k)])));
  const claimed = counts.by_service ?? {};
  const same = (a, b) => JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
  const sameCounts =
    same(counted, claimed) &&
    Object.keys(counted).every((s) => typeof claimed[s] === "object" && same(counted[s], claimed[s]));
  if (!sameCounts) {
    throw new Failure("records.jsonl", `counts by service ${JSON.stringify(counted)} differ from manifest.json`);
  }
  // objects the bundle must hold completely (step 5)
  const copies = new Map();
  for (const d of manifest.duplicates ?? []) copies.set(d.key, (copies.get(d.key) ?? 0) + 1);
  for (const key of wholeObjects(manifest)) {
    const held = (chains.get(key)?.size ?? 0) + (copies.get(key) ?? 0);
    const expected = objects.get(key).records;
    if (held !== expected) {
      throw new Failure(
        `object ${key}`,
        `${held} of its ${expected} records are in the bundle or listed as duplicates, but its hour lies wholly ` +
          "inside the unfiltered window, so all of them must be (a record was dropped)",
      );
    }
  }
  return {
    ok: true,
    format: manifest.format,
    command: manifest.query?.command ?? null,
    window: manifest.query?.from ? [manifest.query.from, manifest.query.to] : manifest.query?.date ?? null,
    records: total,
    objects_with_records: chains.size,
    objects_read: objects.size,
    tampers: (manifest.tampers ?? []).length,
    files: Object.keys(files),
    by_service: counted,
  };
}

function main(argv) {
  const args = argv.filter((a) => a !== "--json");
  const asJson = args.length !== argv.length;
  if (args.length !== 1 || args[0].startsWith("-")) {
    process.stderr.write("usage: node verify-bundle.mjs DIR [--json]\n");
    return 2;
  }
  try {
    const result = verifyBundle(args[0]);
    if (asJson) process.stdout.write(JSON.stringify(result) + "\n");
    else {
      const window = Array.isArray(result.window) ? `[${result.window[0]}, ${result.window[1]})` : result.window;
      process.stdout.write(
        `OK: ${result.records} records from ${result.objects_with_records} objects verified ` +
          `(${result.command}, ${window}; files ${result.files.join(", ")}; offline: file digests, record hashes, ` +
          `chains, counts, identities)\n`,
      );
      if (result.tampers > 0) {
        process.stdout.write(
          `WARNING: the export found ${result.tampers} tampered object(s) or manifest(s): see tamper-report.json\n`,
        );
      }
    }
    return 0;
  } catch (exc) {
    if (!(exc instanceof Failure)) throw exc;
    if (asJson) process.stdout.write(JSON.stringify({ ok: false, where: exc.where, problem: exc.problem }) + "\n");
    process.stderr.write(`FAILED: ${exc.where}: ${exc.problem}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
