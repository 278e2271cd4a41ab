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
          // A safety net, not a speed assertion: property tests of the pure-JS kiosk crypto run hundreds of
          // tweetnacl verifications, and on a 2-core CI machine they share the CPU with the e2e tier's processes
          // (a 5 s default once timed out there at 5.7 s). Speed is measured in scripts/bench/, never here.
          testTimeout: 60_000,
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
