// check.mjs - checks api-spec/openapi.yaml.
//
//   node tests/spec/check.mjs [--spec FILE] ROUTES_FILE
//
// 1. Validates the spec against the OpenAPI 3.1 schema
//    (@seriousme/openapi-schema-validator), plus what that schema cannot see:
//    every local $ref resolves, operationIds are unique, and each path's
//    {parameters} are exactly the path parameters its operations declare.
// 2. Compares the operations the spec documents with the routes the server
//    serves. ROUTES_FILE holds lines "METHOD /path" as printed by
//    `bin/reflectd --routes`. Path parameter names may differ between the two,
//    so every {...} is compared as {}. HEAD is left out on both sides.
//
// Exit status: 0 when both parts pass, 1 when either fails, 2 on usage errors.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Validator } from "@seriousme/openapi-schema-validator";
import { parseDocument } from "yaml";

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const IGNORED_METHODS = new Set(["HEAD"]);

function usage(msg) {
    if (msg) console.error(`check.mjs: ${msg}`);
    console.error("usage: node tests/spec/check.mjs [--spec FILE] ROUTES_FILE");
    process.exit(2);
}

function parseArgs(argv) {
    let spec = fileURLToPath(new URL("../../api-spec/openapi.yaml", import.meta.url));
    const rest = [];
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--spec") {
            if (i + 1 >= argv.length) usage("--spec needs a file");
            spec = argv[++i];
        } else if (argv[i] === "-h" || argv[i] === "--help") {
            usage();
        } else {
            rest.push(argv[i]);
        }
    }
    if (rest.length !== 1) usage("give exactly one routes file");
    return { spec, routes: rest[0] };
}

function readText(file, what) {
    try {
        return readFileSync(file, "utf8");
    } catch (e) {
        console.error(`check.mjs: cannot read ${what} ${file}: ${e.message}`);
        process.exit(2);
    }
}

// Every {name} becomes {}, so /teams/{team_id} and /teams/{id} compare equal.
const normalise = (path) => path.replace(/\{[^}]*\}/g, "{}");
const pathParams = (path) => [...path.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]);

// ---- 1. validation ---------------------------------------------------------

function loadSpec(file) {
    const doc = parseDocument(readText(file, "spec"), { prettyErrors: true, uniqueKeys: true });
    const problems = [...doc.errors, ...doc.warnings].map((e) => `YAML: ${e.message}`);
    return { spec: problems.length ? null : doc.toJS({ maxAliasCount: -1 }), problems };
}

function formatAjvError(e) {
    const where = e.instancePath || "/";
    const params = e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : "";
    return `${where}: ${e.message ?? e.keyword}${params}`;
}

// JSON pointer lookup inside the spec for "#/a/b~1c".
function resolvePointer(root, ref) {
    if (!ref.startsWith("#")) return { external: true };
    const parts = ref.slice(1).split("/").slice(1);
    let node = root;
    for (const raw of parts) {
        const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
        if (node === null || typeof node !== "object" || !(key in node)) return { found: false };
        node = node[key];
    }
    return { found: true, node };
}

function checkRefs(spec) {
    const problems = [];
    // Example payloads are data, not spec: a "$ref" key inside one is no reference.
    const isData = (where, k, v) =>
        k === "example" || (k === "examples" && Array.isArray(v)) ||
        (k === "value" && /\/examples\/[^/]+$/.test(where));
    const walk = (node, where) => {
        if (Array.isArray(node)) {
            node.forEach((v, i) => walk(v, `${where}/${i}`));
        } else if (node && typeof node === "object") {
            for (const [k, v] of Object.entries(node)) {
                if (k === "$ref" && typeof v === "string") {
                    const r = resolvePointer(spec, v);
                    if (r.external) problems.push(`${where}: external $ref ${v} is not allowed`);
                    else if (!r.found) problems.push(`${where}: $ref ${v} does not resolve`);
                } else if (!isData(where, k, v)) {
                    walk(v, `${where}/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`);
                }
            }
        }
    };
    walk(spec, "#");
    return problems;
}

function deref(spec, node) {
    for (let i = 0; node && node.$ref && i < 20; i++) {
        const r = resolvePointer(spec, node.$ref);
        node = r.found ? r.node : undefined;
    }
    return node;
}

function checkOperations(spec) {
    const problems = [];
    const opIds = new Map();
    const seen = new Map(); // normalised path -> spec path
    for (const [path, item] of Object.entries(spec.paths ?? {})) {
        const norm = normalise(path);
        if (seen.has(norm))
            problems.push(`paths: ${path} and ${seen.get(norm)} are the same route`);
        seen.set(norm, path);
        const inPath = pathParams(path);
        const shared = (item.parameters ?? []).map((p) => deref(spec, p)).filter(Boolean);
        for (const method of METHODS) {
            const op = item[method];
            if (!op) continue;
            const name = `${method.toUpperCase()} ${path}`;
            if (op.operationId) {
                if (opIds.has(op.operationId))
                    problems.push(`${name}: operationId ${op.operationId} also used by ${opIds.get(op.operationId)}`);
                opIds.set(op.operationId, name);
            } else {
                problems.push(`${name}: no operationId`);
            }
            const own = (op.parameters ?? []).map((p) => deref(spec, p)).filter(Boolean);
            const declared = new Set(
                [...shared, ...own].filter((p) => p.in === "path").map((p) => p.name));
            for (const p of inPath)
                if (!declared.has(p)) problems.push(`${name}: path parameter {${p}} is not declared`);
            for (const p of declared)
                if (!inPath.includes(p)) problems.push(`${name}: declares path parameter ${p} that is not in the path`);
        }
    }
    return problems;
}

async function validate(file) {
    const { spec, problems } = loadSpec(file);
    if (!spec) return { spec, problems };
    if (typeof spec.openapi !== "string" || !spec.openapi.startsWith("3.1."))
        problems.push(`openapi: expected 3.1.x, found ${JSON.stringify(spec.openapi)}`);
    const validator = new Validator();
    const res = await validator.validate(spec);
    if (!res.valid) {
        const errors = Array.isArray(res.errors) ? res.errors : [res.errors];
        for (const e of errors)
            problems.push(typeof e === "object" ? `schema: ${formatAjvError(e)}` : `schema: ${e}`);
    }
    problems.push(...checkRefs(spec), ...checkOperations(spec));
    return { spec, problems };
}

// ---- 2. routes -------------------------------------------------------------

function readRoutes(file) {
    const routes = new Map(); // "METHOD /norm" -> "METHOD /path as served"
    const problems = [];
    readText(file, "routes file").split("\n").forEach((raw, i) => {
        const line = raw.trim();
        if (!line || line.startsWith("#")) return;
        const m = /^([A-Z]+)\s+(\/\S*)$/.exec(line);
        if (!m) {
            problems.push(`${file}:${i + 1}: not "METHOD /path": ${JSON.stringify(raw)}`);
            return;
        }
        if (IGNORED_METHODS.has(m[1])) return;
        routes.set(`${m[1]} ${normalise(m[2])}`, `${m[1]} ${m[2]}`);
    });
    return { routes, problems };
}

function specOperations(spec) {
    const ops = new Map();
    for (const [path, item] of Object.entries(spec.paths ?? {}))
        for (const method of METHODS) {
            const M = method.toUpperCase();
            if (item?.[method] && !IGNORED_METHODS.has(M)) ops.set(`${M} ${normalise(path)}`, `${M} ${path}`);
        }
    return ops;
}

const byPath = (a, b) => {
    const [ma, pa] = a.split(" "), [mb, pb] = b.split(" ");
    return pa === pb ? ma.localeCompare(mb) : pa.localeCompare(pb);
};

function compare(spec, routesFile) {
    const { routes, problems } = readRoutes(routesFile);
    if (problems.length) {
        for (const p of problems) console.log(`  ${p}`);
        return false;
    }
    const ops = specOperations(spec);
    const onlySpec = [...ops.keys()].filter((k) => !routes.has(k)).map((k) => ops.get(k)).sort(byPath);
    const onlyServer = [...routes.keys()].filter((k) => !ops.has(k)).map((k) => routes.get(k)).sort(byPath);
    const both = [...ops.keys()].filter((k) => routes.has(k)).length;
    console.log(`  server routes: ${routes.size}, spec operations: ${ops.size}, in both: ${both}`);
    console.log(`  only in the spec (documented but not served): ${onlySpec.length}`);
    for (const r of onlySpec) console.log(`    ${r}`);
    console.log(`  only in the server (served but not documented): ${onlyServer.length}`);
    for (const r of onlyServer) console.log(`    ${r}`);
    return onlySpec.length === 0 && onlyServer.length === 0;
}

// ---- main ------------------------------------------------------------------

const args = parseArgs(process.argv.slice(2));
let ok = true;

console.log(`[1/2] validating ${args.spec} (OpenAPI 3.1)`);
const { spec, problems } = await validate(args.spec);
if (problems.length) {
    ok = false;
    for (const p of problems) console.log(`  ${p}`);
    console.log(`  FAIL: ${problems.length} problem(s)`);
} else {
    const nops = specOperations(spec).size;
    console.log(`  ok: valid OpenAPI ${spec.openapi}, ${Object.keys(spec.paths ?? {}).length} paths, ${nops} operations`);
}

console.log(`[2/2] comparing spec operations with server routes from ${args.routes}`);
if (!spec) {
    console.log("  skipped: the spec could not be read");
} else if (compare(spec, args.routes)) {
    console.log("  ok: the spec and the server agree");
} else {
    ok = false;
    console.log("  FAIL: the spec and the server differ");
}

process.exit(ok ? 0 : 1);
