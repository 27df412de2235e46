// Session tokens: "<userId>.<sessionId>.<secret>". The user id lets every key of one user share a Redis
// hash slot; the 256-bit secret is what proves possession, and only its SHA-256 is ever stored.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export interface ParsedToken {
  userId: string;
  sessionId: string;
  secret: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const B64URL = /^[A-Za-z0-9_-]+$/;

export function newSessionId(): string {
  return randomBytes(16).toString("base64url");
}

export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

export function formatToken(t: ParsedToken): string {
  return `${t.userId}.${t.sessionId}.${t.secret}`;
}

export function parseToken(token: string): ParsedToken | null {
  if (token.length > 200) return null;
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  const [userId, sessionId, secret] = parts as [string, string, string];
  if (!UUID.test(userId) || sessionId.length !== 22 || !B64URL.test(sessionId)) return null;
  if (secret.length !== 43 || !B64URL.test(secret)) return null;
  return { userId, sessionId, secret };
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** Constant-time comparison, so response timing reveals nothing about a stored hash. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), "hex");
  const b = Buffer.from(storedHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}
