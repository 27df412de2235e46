// Registering users, changing passwords, and the admin operations on a user.
import { checkNewPassword, normalizeUsername } from "./credentials.js";
import { AuthError } from "./errors.js";
import type { PasswordHasher, User, UserStore } from "./ports.js";
import type { SessionService } from "./sessions.js";

export interface AccountDeps {
  users: UserStore;
  hasher: PasswordHasher;
  sessions: SessionService;
  passwordMinLength: number;
}

export type PublicUser = Pick<User, "id" | "username" | "roles"> & { disabled?: boolean };

export const publicUser = (u: Pick<User, "id" | "username" | "roles">): PublicUser => ({
  id: u.id,
  username: u.username,
  roles: u.roles,
});

/**
 * Registration as the API offers it. REGISTRATION=open: anyone, always as a plain user (roles are ignored).
 * REGISTRATION=admin: only an admin session, which may set roles. `by` is the caller's session, if any.
 */
export async function registerBy(
  deps: AccountDeps,
  input: { username: string; password: string; roles?: string[] },
  by: { roles: string[] } | null,
  registration: "open" | "admin",
): Promise<PublicUser> {
  const isAdmin = by?.roles.includes("admin") ?? false;
  if (registration === "admin" && !isAdmin) {
    if (!by) throw new AuthError("invalid_session", "registration needs an admin session");
    throw new AuthError("forbidden", "registration needs the admin role");
  }
  return register(deps, { ...input, roles: isAdmin ? input.roles : [] });
}

export async function register(
  deps: AccountDeps,
  input: { username: string; password: string; roles?: string[] },
): Promise<PublicUser> {
  const username = normalizeUsername(input.username);
  checkNewPassword(input.password, deps.passwordMinLength);
  const passwordHash = await deps.hasher.hash(input.password);
  return publicUser(await deps.users.create({ username, passwordHash, roles: input.roles ?? [] }));
}

/** Verifies the current password, stores the new one, and ends every other session of the user. */
export async function changePassword(
  deps: AccountDeps,
  who: { userId: string; sessionId: string },
  input: { currentPassword: string; newPassword: string },
): Promise<void> {
  checkNewPassword(input.newPassword, deps.passwordMinLength);
  const user = await deps.users.findById(who.userId);
  if (!user || user.disabled) throw new AuthError("invalid_session", "session is not valid");
  if (!(await deps.hasher.verify(input.currentPassword, user.passwordHash))) {
    throw new AuthError("invalid_credentials", "current password is incorrect");
  }
  await deps.users.setPasswordHash(user.id, await deps.hasher.hash(input.newPassword), new Date());
  await deps.sessions.revokeAll(user.id, "password_change", who.sessionId);
}

/** Sets a new password without the old one (the bootstrap CLI); ends every session of the user. */
export async function resetPassword(deps: AccountDeps, username: string, newPassword: string): Promise<PublicUser> {
  checkNewPassword(newPassword, deps.passwordMinLength);
  const user = await deps.users.findByUsername(normalizeUsername(username));
  if (!user) throw new AuthError("user_not_found", "no such user");
  await deps.users.setPasswordHash(user.id, await deps.hasher.hash(newPassword), new Date());
  await deps.sessions.revokeAll(user.id, "password_change");
  return publicUser(user);
}

export async function updateUser(
  deps: AccountDeps,
  userId: string,
  patch: { disabled?: boolean; roles?: string[] },
): Promise<PublicUser> {
  const user = await deps.users.update(userId, patch);
  if (!user) throw new AuthError("user_not_found", "no such user");
  if (patch.disabled === true) {
    await deps.sessions.revokeAll(userId, "disabled");
  } else if (patch.roles) {
    await deps.sessions.setRoles(userId, user.roles);
  }
  return { ...publicUser(user), disabled: user.disabled };
}
