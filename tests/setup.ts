import { initBackend } from "../lib/backend";

// Mocha root hook: every test file runs on the backend the library would pick (wasm here, native if present).
export const mochaHooks = {
  async beforeAll(): Promise<void> {
    await initBackend();
  },
};
