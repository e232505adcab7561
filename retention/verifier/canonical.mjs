// The canonical JSON form of docs/record-format.md section 1, and a JSON parser that keeps what it needs:
// numbers keep their kind (integer or float) and an integer its exact digits; objects keep their members in a Map
// and refuse a repeated key. Written from the text alone, like verify-bundle.mjs that uses it.

export class Failure extends Error {
  constructor(where, problem) {
    super(`${where}: ${problem}`);
    this.where = where;
    this.problem = problem;
  }
}

// ---- JSON text -> values ------------------------------------------------------------------------------------

export class Int {
  constructor(text) {
    this.big = BigInt(text);
  }
}
export class Float {
  constructor(value) {
    this.value = value;
  }
}

const PLAIN = /[^"\\\u0000-\u001f]+/y; // sticky: matches at lastIndex, no substring copies
const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

export function parseJson(text, where) {
  let i = 0;
  const fail = (what) => {
    throw new Failure(where, `not valid JSON at character ${i}: ${what}`);
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const value = () => {
    ws();
    const c = text[i];
    if (c === "{") return object();
    if (c === "[") return array();
    if (c === '"') return string();
    if (text.startsWith("true", i)) return (i += 4), true;
    if (text.startsWith("false", i)) return (i += 5), false;
    if (text.startsWith("null", i)) return (i += 4), null;
    if (text.startsWith("NaN", i)) return (i += 3), new Float(NaN);
    if (text.startsWith("Infinity", i)) return (i += 8), new Float(Infinity);
    if (text.startsWith("-Infinity", i)) return (i += 9), new Float(-Infinity);
    return number();
  };
  const number = () => {
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m || m[0] === "" || m[0] === "-") fail("expected a value");
    i += m[0].length;
    return m[2] === undefined && m[3] === undefined ? new Int(m[0]) : new Float(Number(m[0]));
  };
  const string = () => {
    i++; // opening quote
    let out = "";
    for (;;) {
      if (i >= text.length) fail("unterminated string");
      const c = text[i];
      if (c === '"') {
        i++;
        return out;
      }
      if (c < " ") fail("raw control character in a string");
      if (c !== "\\") {
        PLAIN.lastIndex = i;
        const run = PLAIN.exec(text);
        out += run[0];
        i += run[0].length;
        continue;
      }
      const e = text[i + 1];
      const simple = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" }[e];
      if (simple !== undefined) {
        out += simple;
        i += 2;
      } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
        out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
        i += 6;
      } else fail("bad escape");
    }
  };
  const array = () => {
    i++;
    const out = [];
    ws();
    if (text[i] === "]") return i++, out;
    for (;;) {
      out.push(value());
      ws();
      if (text[i] === ",") i++;
      else if (text[i] === "]") return i++, out;
      else fail("expected , or ]");
    }
  };
  const object = () => {
    i++;
    const out = new Map();
    ws();
    if (text[i] === "}") return i++, out;
    for (;;) {
      ws();
      if (text[i] !== '"') fail("expected a key");
      const key = string();
      if (out.has(key)) fail(`key ${JSON.stringify(key)} appears twice`);
      ws();
      if (text[i] !== ":") fail("expected :");
      i++;
      out.set(key, value());
      ws();
      if (text[i] === ",") i++;
      else if (text[i] === "}") return i++, out;
      else fail("expected , or }");
    }
  };
  const result = value();
  ws();
  if (i !== text.length) fail("text after the value");
  return result;
}

// ---- canonical form (section 1) ----------------------------------------------------------------------------

const SURROGATE = /[\ud800-\udfff]/;

export function compareCodePoints(a, b) {
  // without surrogates, UTF-16 code-unit order is code-point order
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  const x = Array.from(a, (ch) => ch.codePointAt(0));
  const y = Array.from(b, (ch) => ch.codePointAt(0));
  for (let k = 0; k < Math.min(x.length, y.length); k++) if (x[k] !== y[k]) return x[k] - y[k];
  return x.length - y.length;
}

const SHORT_ESCAPES = { '"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function canonicalString(s) {
  if (!s.isWellFormed()) throw new Error("a string holds a lone surrogate (it has no UTF-8 form)");
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0);
    if (SHORT_ESCAPES[ch] !== undefined) out += SHORT_ESCAPES[ch];
    else if (code < 0x20) out += "\\u" + code.toString(16).padStart(4, "0");
    else out += ch;
  }
  return out + '"';
}

function canonicalFloat(x) {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  // toExponential() without an argument gives the shortest round-trip digits: "d.ddde+X" or "de-X"
  const [mantissa, exponent] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const e = Number(exponent);
  if (e >= -4 && e < 16) {
    if (e >= 0) {
      const whole = digits.slice(0, e + 1).padEnd(e + 1, "0");
      const rest = digits.slice(e + 1);
      return `${sign}${whole}.${rest === "" ? "0" : rest}`;
    }
    return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
  }
  const frac = digits.length > 1 ? "." + digits.slice(1) : "";
  const exp = String(Math.abs(e)).padStart(2, "0");
  return `${sign}${digits[0]}${frac}e${e < 0 ? "-" : "+"}${exp}`;
}

export function canonical(v) {
  if (v === null) return "null";
  if (v === true) return "true";
  if (v === false) return "false";
  if (v instanceof Int) return v.big.toString();
  if (v instanceof Float) return canonicalFloat(v.value);
  if (typeof v === "string") return canonicalString(v);
  if (Array.isArray(v)) return "[" + v.map(canonical).join(",") + "]";
  const keys = [...v.keys()].sort(compareCodePoints);
  return "{" + keys.map((k) => canonicalString(k) + ":" + canonical(v.get(k))).join(",") + "}";
}

