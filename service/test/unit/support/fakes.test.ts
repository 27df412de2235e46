// The in-memory session store the fast tests use passes the same contract as the Redis store.
import { MemorySessionStore } from "../../support/fakes.js";
import { sessionStoreContract } from "../../support/session-store-contract.js";

sessionStoreContract("in memory (the tests' fake)", () => new MemorySessionStore());
