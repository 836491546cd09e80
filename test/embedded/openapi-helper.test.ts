import { describe, expect, it } from "vitest";
import { findOperation, validateRequest, validateResponse } from "../helpers/openapi.js";

describe("test/helpers/openapi.ts", () => {
  it("finds operations by concrete path, preferring literal segments", () => {
    expect(findOperation("POST", "/work_pools/filter")?.template).toBe("/work_pools/filter");
    expect(findOperation("GET", "/work_pools/filter")?.template).toBe("/work_pools/{name}");
    expect(findOperation("GET", "/work_pools/my%20pool?x=1")?.template).toBe("/work_pools/{name}");
    expect(findOperation("POST", "/work_pools")?.template).toBe("/work_pools/");
    expect(findOperation("GET", "/nope")).toBeNull();
  });

  it("validates request bodies", () => {
    expect(validateRequest("POST", "/work_pools/", { name: "ok", concurrency_limit: 1 })).toEqual([]);
    expect(validateRequest("POST", "/work_pools/", { name: "a/b" })).not.toEqual([]);
    expect(validateRequest("POST", "/work_pools/", { name: "x", extra: 1 })).not.toEqual([]);
    expect(validateRequest("GET", "/work_pools/x", undefined)).toEqual([]);
    expect(validateRequest("GET", "/work_pools/x", { a: 1 })).not.toEqual([]);
  });

  it("validates responses by documented status and allows error bodies for 4xx", () => {
    expect(validateResponse("GET", "/health", 200, true)).toEqual([]);
    expect(validateResponse("GET", "/health", 200, "yes")).not.toEqual([]);
    expect(validateResponse("GET", "/work_pools/x", 200, { name: "x" })).not.toEqual([]);
    expect(validateResponse("GET", "/work_pools/x", 201, {})).not.toEqual([]);
    expect(validateResponse("GET", "/work_pools/x", 404, { detail: 'Work pool "x" not found.' })).toEqual([]);
    expect(validateResponse("GET", "/work_pools/x", 404, { nope: 1 })).not.toEqual([]);
    expect(validateResponse("PATCH", "/work_pools/x", 204, undefined)).toEqual([]);
    expect(validateResponse("PATCH", "/work_pools/x", 204, { a: 1 })).not.toEqual([]);
    expect(validateResponse("GET", "/nope", 404, { detail: "Not Found" })).toEqual([]);
    expect(validateResponse("GET", "/nope", 200, {})).not.toEqual([]);
  });
});
