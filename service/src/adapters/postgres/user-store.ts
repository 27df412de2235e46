// Users in Postgres through Prisma.
import { AuthError, unavailable } from "../../auth/errors.js";
import type { User, UserStore } from "../../auth/ports.js";
import type { PrismaClient } from "../../generated/prisma/client.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class PrismaUserStore implements UserStore {
  constructor(private readonly prisma: PrismaClient) {}

  findByUsername(username: string): Promise<User | null> {
    return this.guard(() => this.prisma.user.findUnique({ where: { username } }));
  }

  async findById(id: string): Promise<User | null> {
    if (!UUID.test(id)) return null;
    return this.guard(() => this.prisma.user.findUnique({ where: { id } }));
  }

  async create(input: { username: string; passwordHash: string; roles: string[] }): Promise<User> {
    try {
      return await this.prisma.user.create({ data: input });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AuthError("username_taken", "that username is taken");
      throw unavailable("user database", err);
    }
  }

  async setPasswordHash(id: string, passwordHash: string, changedAt: Date | null): Promise<void> {
    await this.guard(() =>
      this.prisma.user.update({
        where: { id },
        data: changedAt ? { passwordHash, passwordChangedAt: changedAt } : { passwordHash },
      }),
    );
  }

  async update(id: string, patch: { disabled?: boolean; roles?: string[] }): Promise<User | null> {
    if (!UUID.test(id)) return null;
    try {
      return await this.prisma.user.update({ where: { id }, data: patch });
    } catch (err) {
      if (isNotFound(err)) return null;
      throw unavailable("user database", err);
    }
  }

  private async guard<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw unavailable("user database", err);
    }
  }
}

const codeOf = (err: unknown) => (err && typeof err === "object" && "code" in err ? String(err.code) : "");
const isUniqueViolation = (err: unknown) => codeOf(err) === "P2002";
const isNotFound = (err: unknown) => codeOf(err) === "P2025";
