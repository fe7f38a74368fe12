// Validate glTF/glb files with the Khronos glTF-Validator (npm gltf-validator,
// installed in web/node_modules). Usage: node validate_gltf.mjs FILE...
// Prints one JSON object: {FILE: {errors, warnings, infos, messages: [...]}}.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "..", "web", "package.json"));
const validator = require("gltf-validator");

const out = {};
for (const file of process.argv.slice(2)) {
  const bytes = new Uint8Array(await readFile(file));
  const report = await validator.validateBytes(bytes, {
    uri: path.basename(file),
    maxIssues: 50,
    externalResourceFunction: () => Promise.reject(new Error("no external resources")),
  });
  out[file] = {
    errors: report.issues.numErrors,
    warnings: report.issues.numWarnings,
    infos: report.issues.numInfos,
    messages: report.issues.messages.map((m) => `${m.severity} ${m.code} ${m.pointer ?? ""}: ${m.message}`),
  };
}
process.stdout.write(JSON.stringify(out));
