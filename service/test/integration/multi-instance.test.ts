// Stateless replicas: a token issued by one instance validates on another, and after a restart.
import { describe, expect, it } from "vitest";
import { userWithSession, validate } from "../support/api.js";
import { startStack, uniqueName } from "../support/stack.js";

describe("stateless instances", () => {
  it("validates a token from instance A on instance B and on a restarted A", async () => {
    const a = await startStack();
    const b = await startStack();
    try {
      const { token, userId } = await userWithSession(a.app, uniqueName("shared"));
      const onB = await validate(b.app, token);
      expect(onB.status).toBe(200);
      expect(onB.body.user.id).toBe(userId);
      await a.close();
      const restarted = await startStack();
      try {
        expect((await validate(restarted.app, token)).status).toBe(200);
      } finally {
        await restarted.close();
      }
    } finally {
      await b.close();
    }
  });
});
