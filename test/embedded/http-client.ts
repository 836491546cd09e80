/** Test client for the embedded HTTP server: every exchange is checked against Prefect's OpenAPI document. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { startServer } from "../../src/prefect/embedded/http.js";
import { validateRequest, validateResponse } from "../helpers/openapi.js";

/** Prefect's error bodies (`detail`, or the 422 `exception_detail` list). */
export interface ErrorBody {
  detail?: unknown;
  exception_detail?: { loc: (string | number)[]; msg: string; type: string }[];
}

export interface Reply<T> {
  status: number;
  /** The parsed JSON body, typed by the caller (not checked here beyond the OpenAPI validation). */
  body: T;
  requestErrors: string[];
}

export interface CallOptions {
  /** Send this text as the body instead of JSON.stringify(body). */
  raw?: string;
  /** Validate the response as if it had this status (for a status Prefect sends but does not document). */
  validateAs?: number;
}

export interface Client {
  call<T = ErrorBody>(method: string, path: string, body?: unknown, opts?: CallOptions): Promise<Reply<T>>;
  /** Response errors of every exchange so far (should stay empty). */
  responseErrors: string[];
}

export function client(baseUrl: string): Client {
  const responseErrors: string[] = [];
  return {
    responseErrors,
    async call<T>(method: string, path: string, body?: unknown, opts: CallOptions = {}): Promise<Reply<T>> {
      const payload = opts.raw ?? (body === undefined ? undefined : JSON.stringify(body));
      const res = await fetch(baseUrl + path, {
        method,
        ...(payload === undefined ? {} : { body: payload, headers: { "content-type": "application/json" } }),
      });
      const text = await res.text();
      const parsed: unknown = text === "" ? undefined : JSON.parse(text);
      const errors = validateResponse(method, path, opts.validateAs ?? res.status, parsed);
      responseErrors.push(...errors.map((e) => `${method} ${path} ${res.status}: ${e}`));
      return { status: res.status, body: parsed as T, requestErrors: validateRequest(method, path, body) };
    },
  };
}

/**
 * `wp server` on a fresh home for one test file, with a validating client; after each test no
 * response may have broken the OpenAPI document.
 */
export function useEmbeddedServer(): {
  readonly server: Awaited<ReturnType<typeof startServer>>;
  readonly api: Client;
} {
  const state = {} as { server: Awaited<ReturnType<typeof startServer>>; api: Client };
  let dir = "";
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "wp-embedded-"));
    state.server = await startServer({ home: join(dir, "home"), host: "127.0.0.1", port: 0 });
    state.api = client(state.server.url);
  });
  afterAll(async () => {
    await state.server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    expect(state.api.responseErrors).toEqual([]);
  });
  return state;
}
