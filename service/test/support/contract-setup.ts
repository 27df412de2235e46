// Vitest setup: every response a supertest request receives is checked against the API description
// (contract.ts); a mismatch fails the request, and with it the test.
import request from "supertest";
import { contractProblems } from "./contract.js";

type End = (fn?: (err: unknown, res: unknown) => void) => unknown;
const Test = (request as unknown as { Test: { prototype: { end: End; method: string; url: string } } }).Test;
const end = Test.prototype.end;

Test.prototype.end = function checkedEnd(this: { method: string; url: string }, fn?: (err: unknown, res: unknown) => void) {
  return end.call(this, (err: unknown, res: unknown) => {
    const r = res as { status: number; headers: Record<string, string>; body: unknown; text?: string } | undefined;
    if (!err && r) {
      const body = r.text ? r.body : undefined;
      const problems = contractProblems(this.method, this.url, { status: r.status, headers: r.headers, body, text: r.text ?? "" });
      if (problems.length > 0) err = new Error(`response breaks the API description:\n  ${problems.join("\n  ")}`);
    }
    fn?.(err, res);
  });
};
