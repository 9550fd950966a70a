// responses.mjs - checks every recorded response against api-spec/openapi.yaml.
//
//   node tests/spec/responses.mjs [--spec FILE] RECORD_FILE...
//
// RECORD_FILE holds one JSON line per exchange, {method, path, status,
// headers, body}, written by the integration harness when REFLECTD_RECORD is
// set (tests/integration/harness.c). For each response:
//   - the path is matched against the spec's path templates (the template
//     with the most literal segments wins) and the method against its
//     operations (HEAD is GET's operation, without a body);
//   - the status must be documented for that operation (or its range,
//     e.g. 4XX; `default` does not count); a request no operation takes (a path the spec does
//     not know, a method the path does not serve) must get one of the
//     responses the spec documents for any request, in components.responses
//     (GENERIC below: NotFound, MethodNotAllowed with Allow, CorsPreflight,
//     PayloadTooLarge...);
//   - the Content-Type must be one the response documents, and a response
//     documented without content must have an empty body;
//   - a JSON body must validate against the documented schema with Ajv
//     (JSON Schema 2020-12, the dialect of OpenAPI 3.1), formats included;
//   - each documented header must be present when required and, when
//     present, validate against its schema.
// Prints the violations (at most 5 per kind of failure, with counts), the
// operations covered and the responses checked. Exit status 1 on any
// violation, 2 on usage errors.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { parse } from "yaml";

const METHODS = ["get", "put", "post", "delete", "patch", "options", "head", "trace"];

function usage(msg) {
    if (msg) console.error(`responses.mjs: ${msg}`);
    console.error("usage: node tests/spec/responses.mjs [--spec FILE] RECORD_FILE...");
    process.exit(2);
}

function parseArgs(argv) {
    let spec = fileURLToPath(new URL("../../api-spec/openapi.yaml", import.meta.url));
    const records = [];
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--spec") {
            if (i + 1 >= argv.length) usage("--spec needs a file");
            spec = argv[++i];
        } else {
            records.push(argv[i]);
        }
    }
    if (records.length === 0) usage("give at least one record file");
    return { spec, records };
}

// JSON pointer escaping of one reference token (RFC 6901).
const esc = (s) => s.replace(/~/g, "~0").replace(/\//g, "~1");
const unesc = (s) => s.replace(/~1/g, "/").replace(/~0/g, "~");

function at(doc, pointer) {
    let v = doc;
    for (const tok of pointer.split("/").slice(1)) {
        v = v?.[unesc(tok)];
    }
    return v;
}

// Follows local $refs of a non-schema object (a response, a header);
// returns [object, pointer of the object].
function deref(doc, obj, pointer) {
    for (let i = 0; obj && obj.$ref && i < 10; i++) {
        if (!obj.$ref.startsWith("#/")) throw new Error(`non-local $ref ${obj.$ref}`);
        pointer = obj.$ref.slice(1);
        obj = at(doc, pointer);
    }
    return [obj, pointer];
}

function templates(doc) {
    return Object.keys(doc.paths).map((t) => {
        const segs = t.split("/").slice(1);
        return {
            template: t,
            segs,
            literals: segs.filter((s) => !s.startsWith("{")).length,
        };
    });
}

function matchPath(tpls, path) {
    const segs = path.split("/").slice(1);
    let best = null;
    for (const t of tpls) {
        if (t.segs.length !== segs.length) continue;
        const fits = t.segs.every((s, i) =>
            s.startsWith("{") ? segs[i].length > 0 : s === segs[i]);
        if (fits && (!best || t.literals > best.literals)) best = t;
    }
    return best;
}

// Responses to requests no operation takes, by status: the spec documents
// them once, in components.responses. (The size limit and the connection
// limit are checked before routing, so any request can get those.)
const GENERIC = {
    400: "BadRequest",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "PayloadTooLarge",
    429: "TooManyRequests",
    501: "NotImplemented",
    503: "ServiceUnavailable",
};

// The statuses of GENERIC that any request may get, on any operation: a
// malformed request, the size limit, the connection limit, an unknown method.
const ANY_REQUEST = new Set([400, 413, 429, 501]);

const baseType = (ct) => (ct || "").split(";")[0].trim().toLowerCase();
const isJson = (mt) => mt === "application/json" || mt.endsWith("+json");

class Checker {
    constructor(doc) {
        this.doc = doc;
        this.tpls = templates(doc);
        this.ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
        addFormats(this.ajv);
        // OpenAPI's idn-email (RFC 6531 addresses, as the server accepts
        // them) is not in ajv-formats: one @ between two non-empty parts.
        this.ajv.addFormat("idn-email", /^[^\s@]+@[^\s@]+$/u);
        this.ajv.addSchema(doc, "openapi.json");
        this.compiled = new Map();
        this.failures = new Map(); // kind -> {count, examples}
        this.covered = new Set(); // "METHOD template" with a documented response
        this.statuses = new Set(); // "METHOD template status"
        this.checked = 0;
    }

    validator(pointer) {
        let v = this.compiled.get(pointer);
        if (!v) {
            v = this.ajv.compile({ $ref: `openapi.json#${pointer}` });
            this.compiled.set(pointer, v);
        }
        return v;
    }

    fail(kind, rec, detail) {
        let f = this.failures.get(kind);
        if (!f) this.failures.set(kind, (f = { count: 0, examples: [] }));
        f.count++;
        if (f.examples.length < 5) {
            f.examples.push(`${rec.method} ${rec.path} -> ${rec.status}: ${detail}`);
        }
    }

    // The operation and response object for rec, or null after a failure.
    locate(rec) {
        const path = rec.path.split("?")[0];
        const t = matchPath(this.tpls, path);
        let method = rec.method.toLowerCase();
        if (method === "head") method = "get";
        const op = t && this.doc.paths[t.template][method];
        if (!op) {
            const what = !t ? "unknown path" : method === "options" ? "preflight" : "method";
            const name = method === "options" && rec.status === 204
                ? "CorsPreflight" : GENERIC[rec.status];
            if (!name) {
                this.fail(`${what}: status not documented for any request`, rec, "");
                return null;
            }
            return this.generic(rec, `#/components/responses/${name}`, what, t?.template);
        }
        const key = `${rec.method === "HEAD" ? "HEAD" : method.toUpperCase()} ${t.template}`;
        const base = `/paths/${esc(t.template)}/${method}/responses`;
        const r = op.responses || {};
        const s = String(rec.status);
        const range = `${s[0]}XX`;
        // `default` is no documentation of a status: each one the server
        // sends must be listed (or its range), or a client cannot type it.
        const code = s in r ? s : range in r ? range : null;
        // What any request may get, before routing (the spec says so once,
        // in components.responses), is not repeated on every operation.
        if (!code && ANY_REQUEST.has(rec.status)) {
            this.statuses.add(`${key} ${s}`);
            return this.generic(rec, `#/components/responses/${GENERIC[rec.status]}`, "any", t.template);
        }
        if (!code) {
            this.fail(`undocumented status ${s} of ${method.toUpperCase()} ${t.template}`, rec,
                `documented: ${Object.keys(r).join(", ")}`);
            return null;
        }
        this.covered.add(key);
        this.statuses.add(`${key} ${code}`);
        return deref(this.doc, r[code], `${base}/${esc(code)}`);
    }

    // A response the spec documents once for all operations (components).
    generic(rec, ref, what, template) {
        const pointer = ref.slice(1);
        const resp = at(this.doc, pointer);
        if (!resp) {
            this.fail(`${what}: ${ref} is not in the spec`, rec, template || "no template");
            return null;
        }
        this.covered.add(`${rec.method} (${what})`);
        return [resp, pointer];
    }

    checkBody(rec, resp, pointer) {
        const head = rec.method === "HEAD";
        const body = rec.body ?? "";
        if (head) {
            if (body.length) this.fail("HEAD with a body", rec, `${body.length} bytes`);
            return;
        }
        if (!resp.content) {
            if (body.length) this.fail("body on a response documented without one", rec, body.slice(0, 80));
            return;
        }
        const mt = baseType(rec.headers["content-type"]);
        const key = Object.keys(resp.content).find((k) => baseType(k) === mt);
        if (!key) {
            this.fail("undocumented media type", rec,
                `${mt || "(none)"}; documented: ${Object.keys(resp.content).join(", ")}`);
            return;
        }
        const media = resp.content[key];
        if (!isJson(mt) || !media.schema) return;
        let value;
        try {
            value = JSON.parse(body);
        } catch {
            this.fail("body is not JSON", rec, body.slice(0, 80));
            return;
        }
        const v = this.validator(`${pointer}/content/${esc(key)}/schema`);
        if (!v(value)) {
            const errs = v.errors.slice(0, 3).map((e) => `${e.instancePath || "/"} ${e.message}`);
            this.fail(`body does not match the schema (${pointer})`, rec, errs.join("; "));
        }
    }

    checkHeaders(rec, resp, pointer) {
        for (const [name, h0] of Object.entries(resp.headers || {})) {
            const [h, hp] = deref(this.doc, h0, `${pointer}/headers/${esc(name)}`);
            const value = rec.headers[name.toLowerCase()];
            if (value === undefined) {
                if (h.required) this.fail(`missing header ${name}`, rec, "required");
                continue;
            }
            if (!h.schema) continue;
            const type = h.schema.type;
            const v = type === "integer" || type === "number" ? Number(value) : value;
            const ok = this.validator(`${hp}/schema`);
            if (!ok(v)) this.fail(`header ${name} does not match`, rec, JSON.stringify(value));
        }
    }

    check(rec) {
        this.checked++;
        const found = this.locate(rec);
        if (!found) return;
        const [resp, pointer] = found;
        this.checkBody(rec, resp, pointer);
        this.checkHeaders(rec, resp, pointer);
    }

    operations() {
        const ops = [];
        for (const [t, item] of Object.entries(this.doc.paths)) {
            for (const m of METHODS) if (item[m]) ops.push(`${m.toUpperCase()} ${t}`);
        }
        return ops;
    }
}

function main() {
    const { spec, records } = parseArgs(process.argv.slice(2));
    const checker = new Checker(parse(readFileSync(spec, "utf8")));
    for (const file of records) {
        for (const line of readFileSync(file, "utf8").split("\n")) {
            if (line.trim()) checker.check(JSON.parse(line));
        }
    }
    const ops = checker.operations();
    const missed = ops.filter((o) => !checker.covered.has(o));
    let violations = 0;
    for (const [kind, f] of checker.failures) {
        violations += f.count;
        console.log(`VIOLATION (${f.count}x) ${kind}`);
        for (const e of f.examples) console.log(`    ${e}`);
    }
    if (missed.length) console.log(`not exercised by the suite: ${missed.join(", ")}`);
    console.log(`responses.mjs: ${checker.checked} responses checked against ${spec}: ` +
        `${ops.length - missed.length} of ${ops.length} operations and ` +
        `${checker.statuses.size} documented (operation, status) pairs exercised, ` +
        `${violations} violations`);
    process.exit(violations || checker.checked === 0 ? 1 : 0);
}

main();
