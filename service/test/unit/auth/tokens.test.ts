import { describe, expect, it } from "vitest";
import { formatToken, hashSecret, newSecret, newSessionId, parseToken, secretMatches } from "../../../src/auth/tokens.js";

const userId = "0b0b3c4e-1111-4222-8333-444455556666";

describe("session tokens", () => {
  it("carry at least 128 random bits of secret and round-trip", () => {
    const secret = newSecret();
    expect(Buffer.from(secret, "base64url").length * 8).toBeGreaterThanOrEqual(128);
    const token = formatToken({ userId, sessionId: newSessionId(), secret });
    expect(parseToken(token)).toEqual({ userId, sessionId: token.split(".")[1], secret });
    expect(newSecret()).not.toBe(secret);
  });

  it.each(["", "a.b.c", `${userId}.short.${"A".repeat(43)}`, `${userId}.${"A".repeat(22)}.${"A".repeat(42)}`, `x.${"A".repeat(22)}.${"A".repeat(43)}`, "a".repeat(500)])(
    "rejects malformed token %#",
    (token) => {
      expect(parseToken(token)).toBeNull();
    },
  );

  it("matches a secret only against its own SHA-256", () => {
    const secret = newSecret();
    const stored = hashSecret(secret);
    expect(stored).toMatch(/^[0-9a-f]{64}$/);
    expect(stored).not.toContain(secret);
    expect(secretMatches(secret, stored)).toBe(true);
    expect(secretMatches(newSecret(), stored)).toBe(false);
    expect(secretMatches(secret, "00")).toBe(false);
  });
});
