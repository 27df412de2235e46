// Who is online: a user while at least one live connection of theirs is open anywhere in the cluster. The store
// answers in O(log n) (the count) and O(log n + page) (a page): never a scan over all users.
import { AuthError } from "./errors.js";
import type { Clock, OnlineUser, PresenceStore } from "./ports.js";

export interface PresenceDeps {
  presence: PresenceStore;
  clock: Clock;
}

export async function onlineUsers(deps: PresenceDeps, page: { limit: number; after?: string }): Promise<{ online: number; users: OnlineUser[]; next: string | null }> {
  const now = deps.clock.now();
  const [online, listed] = await Promise.all([deps.presence.onlineCount(now), deps.presence.onlinePage(now, page.limit, page.after)]);
  return { online, ...listed };
}

/** One user's presence, for an admin or for the user themselves. */
export async function presenceOf(
  deps: PresenceDeps,
  caller: { userId: string; roles: string[] },
  userId: string,
): Promise<{ userId: string; online: boolean; connections: number; lastSeenAt: number | null }> {
  if (caller.userId !== userId && !caller.roles.includes("admin")) throw new AuthError("forbidden", "only an admin may see another user's presence");
  const { connections, lastSeenAt } = await deps.presence.ofUser(userId, deps.clock.now());
  return { userId, online: connections > 0, connections, lastSeenAt };
}
