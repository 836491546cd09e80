/**
 * Parses an HTTP request body as Prefect's server (FastAPI on Python's `json`) does: block schema bodies keep float
 * literals (their fields are hashed), and malformed JSON is FastAPI's 422 `json_invalid` with the position and
 * message Python's decoder reports.
 */
import { parseLossless } from "../checksum.js";
import { invalid, type Result } from "./validate.js";

export type ParsedBody = { ok: true; body: unknown } | { ok: false; result: Result };

/** Python's `json.loads` error for `text` (which JSON.parse refused): its message and character position. */
export function pythonJsonError(text: string): { msg: string; pos: number } {
  let i = 0;
  class Fail {
    constructor(
      readonly msg: string,
      readonly pos: number,
    ) {}
  }
  const ws = (): void => {
    while (i < text.length && " \t\n\r".includes(text.charAt(i))) i++;
  };
  const string = (): void => {
    const start = i;
    i++;
    for (;;) {
      if (i >= text.length) throw new Fail("Unterminated string starting at", start);
      const c = text.charAt(i);
      if (c === '"') {
        i++;
        return;
      }
      if (c === "\\") {
        const e = text.charAt(i + 1);
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw new Fail("Invalid \\uXXXX escape", i);
          i += 6;
        } else if ('"\\/bfnrt'.includes(e) && e !== "") i += 2;
        else if (i + 1 >= text.length) throw new Fail("Unterminated string starting at", start);
        else throw new Fail("Invalid \\escape", i);
        continue;
      }
      if (c.charCodeAt(0) < 0x20) throw new Fail("Invalid control character at", i);
      i++;
    }
  };
  const value = (): void => {
    const c = text.charAt(i);
    if (c === '"') {
      string();
      return;
    }
    if (c === "{") {
      i++;
      ws();
      if (text.charAt(i) === "}") {
        i++;
        return;
      }
      for (;;) {
        if (text.charAt(i) !== '"') throw new Fail("Expecting property name enclosed in double quotes", i);
        string();
        ws();
        if (text.charAt(i) !== ":") throw new Fail("Expecting ':' delimiter", i);
        i++;
        ws();
        value();
        ws();
        const d = text.charAt(i);
        if (d === "}") {
          i++;
          return;
        }
        if (d !== ",") throw new Fail("Expecting ',' delimiter", i);
        i++;
        ws();
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text.charAt(i) === "]") {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        const d = text.charAt(i);
        if (d === "]") {
          i++;
          return;
        }
        if (d !== ",") throw new Fail("Expecting ',' delimiter", i);
        i++;
        ws();
      }
    }
    for (const word of ["null", "true", "false"]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(text.slice(i));
    if (!m) throw new Fail("Expecting value", i);
    i += m[0].length;
  };
  try {
    ws();
    value();
    ws();
    if (i !== text.length) return { msg: "Extra data", pos: i };
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
