import { defineConfig } from "vitest/config";

// Two tiers, as in Immich: "unit" needs nothing but Node.js; "integration" runs against a real PostgreSQL
// prepared once by test/helpers/global-setup.ts (embedded, TEST_DATABASE_URL, or a testcontainer) and cloned
// from a template database for every test file.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        // Whole flows through a real Suara process, as a user runs them (npm run demo).
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 300_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/helpers/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
