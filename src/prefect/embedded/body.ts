/**
 * Parses an HTTP request body as Prefect's server (FastAPI on Python's `json`) does: block schema bodies keep float
 * literals (their fields are hashed), and malformed JSON is FastAPI's 422 `json_invalid` with the position and
 * message Python's decoder reports.
 */
import { parseLossless } from "../checksum.js";
import { invalid, type Result } from "./validate.js";

export type ParsedBody = { ok: true; body: unknown } | { ok: false; result: Result };

class Fail {
  constructor(
    readonly msg: string,
    readonly pos: number,
  ) {}
}

/** A scan of JSON text that fails where, and with the words, Python's decoder does. */
class PythonJsonScanner {
  i = 0;
  constructor(readonly text: string) {}

  private at(): string {
    return this.text.charAt(this.i);
  }

  ws(): void {
    while (this.i < this.text.length && " \t\n\r".includes(this.at())) this.i++;
  }

  private string(): void {
    const start = this.i;
    this.i++;
    for (;;) {
      if (this.i >= this.text.length) throw new Fail("Unterminated string starting at", start);
      const c = this.at();
      if (c === '"') {
        this.i++;
        return;
      }
      if (c === "\\") {
        this.escape(start);
        continue;
      }
      if (c.charCodeAt(0) < 0x20) throw new Fail("Invalid control character at", this.i);
      this.i++;
    }
  }

  private escape(start: number): void {
    const e = this.text.charAt(this.i + 1);
    if (e === "u") {
      if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.i + 2, this.i + 6)))
        throw new Fail("Invalid \\uXXXX escape", this.i);
      this.i += 6;
    } else if ('"\\/bfnrt'.includes(e) && e !== "") this.i += 2;
    else if (this.i + 1 >= this.text.length) throw new Fail("Unterminated string starting at", start);
    else throw new Fail("Invalid \\escape", this.i);
  }

  /** The members of an object or array, after its opening bracket. */
  private members(close: "}" | "]", member: () => void): void {
    this.i++;
    this.ws();
    if (this.at() === close) {
      this.i++;
      return;
    }
    for (;;) {
      member();
      this.ws();
      const d = this.at();
      if (d === close) {
        this.i++;
        return;
      }
      if (d !== ",") throw new Fail("Expecting ',' delimiter", this.i);
      this.i++;
      this.ws();
    }
  }

  private property(): void {
    if (this.at() !== '"') throw new Fail("Expecting property name enclosed in double quotes", this.i);
    this.string();
    this.ws();
    if (this.at() !== ":") throw new Fail("Expecting ':' delimiter", this.i);
    this.i++;
    this.ws();
    this.value();
  }

  value(): void {
    const c = this.at();
    if (c === '"') this.string();
    else if (c === "{") this.members("}", () => this.property());
    else if (c === "[") this.members("]", () => this.value());
    else this.scalar();
  }

  private scalar(): void {
    for (const word of ["null", "true", "false"]) {
      if (this.text.startsWith(word, this.i)) {
        this.i += word.length;
        return;
      }
    }
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(this.text.slice(this.i));
    if (!m) throw new Fail("Expecting value", this.i);
    this.i += m[0].length;
  }
}

/** Python's `json.loads` error for `text` (which JSON.parse refused): its message and character position. */
export function pythonJsonError(text: string): { msg: string; pos: number } {
  const scan = new PythonJsonScanner(text);
  try {
    scan.ws();
    scan.value();
    scan.ws();
    if (scan.i !== text.length) return { msg: "Extra data", pos: scan.i };
  } catch (err) {
    if (err instanceof Fail) return { msg: err.msg, pos: err.pos };
    throw err;
  }
  return { msg: "Expecting value", pos: 0 };
}

/** The body of a request to `path` (relative to the API root); `text` is the raw body, "" when there is none. */
export function parseBody(path: string, text: string): ParsedBody {
  const source = text.startsWith("\uFEFF") ? text.slice(1) : text;
  if (source.trim() === "") return { ok: true, body: undefined };
  const pathname = (path.split("?")[0] ?? "").replace(/\/+$/, "");
  try {
    // Block schema fields are hashed: keep float literals (5.0) as Python floats there.
    return { ok: true, body: pathname === "/block_schemas" ? parseLossless(source) : JSON.parse(source) };
  } catch {
    const { msg, pos } = pythonJsonError(source);
    return {
      ok: false,
      result: invalid(source, [
        { type: "json_invalid", loc: ["body", pos], msg: "JSON decode error", input: {}, ctx: { error: msg } },
      ]),
    };
  }
}
