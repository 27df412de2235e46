// Username normalization and password policy.
import { AuthError } from "./errors.js";

const USERNAME = /^[\p{L}\p{N}._-]{3,64}$/u;
/** bcrypt reads at most 72 bytes: longer passwords would be silently truncated, so we refuse them. */
export const MAX_PASSWORD_BYTES = 72;

/** NFKC then lower case, so "Ａｌｉｃｅ" and "alice" are one account. Throws invalid_username. */
export function normalizeUsername(input: string): string {
  const username = input.normalize("NFKC").toLowerCase();
  if (!USERNAME.test(username)) {
    throw new AuthError(
      "invalid_username",
      "username must be 3-64 characters of letters, digits, '.', '_' and '-'",
    );
  }
  return username;
}

export function checkPasswordLength(password: string): void {
  if (Buffer.byteLength(password, "utf8") > MAX_PASSWORD_BYTES) {
    throw new AuthError("password_too_long", `password must be at most ${MAX_PASSWORD_BYTES} bytes in UTF-8`);
  }
}

export function checkNewPassword(password: string, minLength: number): void {
  checkPasswordLength(password);
  if ([...password].length < minLength) {
    throw new AuthError("weak_password", `password must be at least ${minLength} characters`);
  }
}
