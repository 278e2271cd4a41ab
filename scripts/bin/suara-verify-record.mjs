#!/usr/bin/env node
// `npx suara-verify-record <record.jsonl> [--share f]… [--json report.json]`: the offline verifier
// (scripts/verify-record.ts) started from the package's bin. tsx is a runtime dependency, so the TypeScript
// runs as it is, with nothing to build first.
import { register } from "tsx/esm/api";

register();
await import("../verify-record.ts");
